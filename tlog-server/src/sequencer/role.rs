//! Roles of a sequencer when several replicas share one store (see the
//! replica notes in `sequencer.rs`): the shared role flag the handles check
//! before enqueueing, and the worker's periodic role check.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::{SequenceError, Worker};
use crate::store::Leadership;

/// What this process may do with the tree right now; shared between the
/// worker (which decides) and the handles (which refuse early).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Role {
    /// Sequence (the store's lock is held, or the store has one writer).
    Leader = 0,
    /// Another process sequences; serve reads only.
    Follower = 1,
    /// The database cannot be reached; nothing can be sequenced.
    Unavailable = 2,
}

#[derive(Clone, Debug)]
pub(super) struct SharedRole(Arc<AtomicU8>);

impl SharedRole {
    pub(super) fn new(role: Role) -> Self {
        Self(Arc::new(AtomicU8::new(role as u8)))
    }

    pub(super) fn get(&self) -> Role {
        match self.0.load(Ordering::Acquire) {
            0 => Role::Leader,
            1 => Role::Follower,
            _ => Role::Unavailable,
        }
    }

    pub(super) fn set(&self, role: Role) {
        self.0.store(role as u8, Ordering::Release);
    }

    /// The refusal for a submission in this role, if any.
    pub(super) fn refusal(&self) -> Option<SequenceError> {
        match self.get() {
            Role::Leader => None,
            Role::Follower => Some(SequenceError::NotLeader),
            Role::Unavailable => Some(SequenceError::Unavailable),
        }
    }
}

impl Worker {
    /// The periodic role check of a replicated store: keep, take or lose the
    /// lead; a follower refreshes its head; an unreachable database makes
    /// the sequencer refuse writes until it is back.
    pub(super) async fn check_role(&mut self) {
        let was = self.role.get();
        match self.store.lead(self.tree).await {
            Ok(Leadership::Leader | Leadership::Sole) => {
                // Taking over (or coming back after an outage): the store is
                // the truth, whatever this process held before.
                if was != Role::Leader {
                    if self.resync().await && self.take_over_empty_tree().await {
                        tracing::info!(tree = %self.tree, size = self.frontier.size(), "sequencing this tree");
                        self.role.set(Role::Leader);
                    } else {
                        self.role.set(Role::Unavailable);
                    }
                }
            }
            Ok(Leadership::Follower) => {
                if was == Role::Leader {
                    tracing::warn!(tree = %self.tree, "another replica took over sequencing");
                }
                self.role.set(Role::Follower);
                self.refresh_head().await;
            }
            Err(e) => {
                if was != Role::Unavailable {
                    tracing::error!(tree = %self.tree, error = %e, "database unreachable; refusing writes");
                }
                self.role.set(Role::Unavailable);
            }
        }
    }

    /// A new leader of a tree that is still empty (its first leader died
    /// before committing) opens it with its genesis entry. Returns whether
    /// the tree is ready to sequence.
    async fn take_over_empty_tree(&mut self) -> bool {
        match self.open_with_genesis().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(tree = %self.tree, error = %e, "cannot commit the genesis entry");
                false
            }
        }
    }

    /// A follower's view of the head: the store's latest, if newer.
    pub(super) async fn refresh_head(&mut self) {
        match self.store.latest_head(self.tree).await {
            Ok(Some(head)) if head.size > self.publish.borrow().size => {
                self.publish.send_replace(Arc::new(head));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(tree = %self.tree, error = %e, "cannot refresh the head"),
        }
    }
}
