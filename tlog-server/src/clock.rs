//! Wall-clock time for sequencing (Rekor `integratedTime`, CT timestamps),
//! behind a trait so tests can pin it.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in milliseconds.
pub(crate) trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 is a broken machine; 0 then makes every
        // certificate-validity check on clients fail loudly rather than lie.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that always says the same time (tests).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct FixedClock(pub(crate) u64);

#[cfg(test)]
impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0
    }
}

/// A clock tests set and advance while the log runs.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct SettableClock(std::sync::atomic::AtomicU64);

#[cfg(test)]
impl SettableClock {
    pub(crate) fn new(now_ms: u64) -> Self {
        Self(std::sync::atomic::AtomicU64::new(now_ms))
    }

    pub(crate) fn set(&self, now_ms: u64) {
        self.0.store(now_ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl Clock for SettableClock {
    fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
