//! A certificate rate per identity (docs/design.md, "Rate limits"): a GCRA
//! bucket per (issuer, subject), checked once the token is verified and before
//! the key proof and the signature, so an identity over its rate costs one
//! token check. A CI fleet shares one workflow identity, so the default (100
//! certificates/s, bursts of 1,000) is generous; it stops one stolen or runaway
//! token from flooding the CT log and Rekor.

use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::ApiError;

/// Certificates per second one identity may get by default.
pub const DEFAULT_CERTS_PER_SUBJECT_PER_SEC: u32 = 100;

/// Identities tracked before the idle ones are forgotten.
const MAX_TRACKED_IDENTITIES: usize = 100_000;

pub(crate) struct SubjectLimiter {
    limiter: DefaultKeyedRateLimiter<(String, String)>,
    clock: DefaultClock,
}

impl SubjectLimiter {
    /// `None` when `per_second` is 0 (no limit). Bursts are ten seconds' worth.
    pub(crate) fn new(per_second: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(9));
        Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        })
    }

    /// Takes one certificate from the identity's bucket, or says when to retry.
    pub(crate) fn check(&self, issuer: &str, subject: &str) -> Result<(), ApiError> {
        if self.limiter.len() > MAX_TRACKED_IDENTITIES {
            self.forget_idle();
        }
        let key = (issuer.to_owned(), subject.to_owned());
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::ResourceExhausted {
                message: format!(
                    "too many certificates for {subject} from {issuer}; retry after {retry_after_secs} s"
                ),
                retry_after_secs,
            }
        })
    }

    /// Forgets identities whose bucket is full again (bounds memory).
    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
