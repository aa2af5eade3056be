//! Witness cosignatures for the Rekor v2 log (C2SP tlog-witness,
//! https://c2sp.org/tlog-witness, and tlog-cosignature): after the log
//! publishes a checkpoint, it sends it to each configured witness with
//! `POST <url>/add-checkpoint` and a consistency proof from the size that
//! witness last cosigned, and keeps the cosignatures that verify under the
//! witness's key. `GET /checkpoint` serves the log's note with those lines
//! appended (docs/rekor-v2.md §3). Rekor v1 checkpoints never carry them:
//! v1 clients accept exactly one signature.
//!
//! # Contract
//! - **Availability.** A witness that is down, slow (10 s timeout) or
//!   refusing never stops the log: the sequencer and the 201s do not wait
//!   for witnesses. Failures are logged and retried with the next checkpoint.
//! - **Rate.** One round at a time: checkpoints committed during a round
//!   are coalesced, and the next round takes the newest. So each witness
//!   sees at most one request in flight from this process.
//! - **Policy.** With `quorum` = 0 (the default) cosignatures are best
//!   effort: `/checkpoint` is the latest head, cosigned when the last round
//!   was for that very head. With `quorum` = K > 0, `/checkpoint` and the
//!   tiles are cut to the newest checkpoint that K witnesses cosigned;
//!   until one exists, `/checkpoint` answers 503.
//! - **Replicas.** Only the leader asks witnesses. It stores each kept
//!   cosigned checkpoint (`LogStore::save_cosigned`); followers, and a
//!   process that restarts, read it from there, so every replica publishes
//!   the same cosigned note, under a quorum too.
//! - **State.** What each witness last cosigned lives in memory only. After
//!   a restart the first request says `old 0`; the witness answers 409 with
//!   its size, which the log follows (§ add-checkpoint).

use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use shared::merkle::Hash;
use shared::note::{Cosigner, NoteSignature, SignedNote};
use tokio::sync::watch;

use crate::store::{CosignedCheckpoint, SignedHead};
use crate::tree::LogTree;

/// How long one `add-checkpoint` may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A witness to ask: its submission prefix and its cosigning key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessConfig {
    /// The submission prefix, e.g. `https://witness.example/w1`.
    pub url: String,
    pub cosigner: Cosigner,
}

impl FromStr for WitnessConfig {
    type Err = String;

    /// `URL,VKEY`, the vkey of signature type 0x04 (tlog-cosignature).
    fn from_str(text: &str) -> Result<Self, String> {
        let (url, vkey) = text
            .split_once(',')
            .ok_or_else(|| format!("witness {text:?}: expected URL,VKEY"))?;
        let url = url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("witness URL {url:?} is not http(s)"));
        }
        let cosigner =
            Cosigner::from_vkey(vkey.trim()).map_err(|e| format!("witness {url}: {e}"))?;
        Ok(Self { url, cosigner })
    }
}

/// The witnesses and the publication policy.
#[derive(Clone, Debug, Default)]
pub struct WitnessPolicy {
    pub witnesses: Vec<WitnessConfig>,
    /// Publish only checkpoints with this many cosignatures (0: off).
    pub quorum: usize,
}

/// What the HTTP layer reads: the newest cosigned checkpoint.
#[derive(Debug, Default)]
pub(crate) struct Witnessed {
    quorum: usize,
    latest: RwLock<Option<Arc<CosignedCheckpoint>>>,
}

/// What `/checkpoint` serves and how far tiles go.
pub(crate) enum Published {
    /// The note to serve (its size is [`Witnessed::published_size`]).
    Note { note: Vec<u8> },
    /// A quorum is required and no checkpoint has one yet.
    AwaitingQuorum,
}

impl Witnessed {
    pub(crate) fn new(quorum: usize) -> Self {
        Self {
            quorum,
            latest: RwLock::default(),
        }
    }

    /// The checkpoint to publish, given the log's latest head.
    pub(crate) fn published(&self, head: &SignedHead) -> Published {
        // A poisoned lock only means a writer panicked between whole values.
        let latest = self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match latest {
            Some(c) if c.size == head.size && c.root == head.root => Published::Note {
                note: c.note.clone().into_bytes(),
            },
            Some(c) if self.quorum > 0 => Published::Note {
                note: c.note.clone().into_bytes(),
            },
            None if self.quorum > 0 => Published::AwaitingQuorum,
            _ => Published::Note {
                note: head.signed.clone(),
            },
        }
    }

    /// The size of the checkpoint [`Self::published`] would serve (0 while
    /// awaiting a quorum), without copying the note.
    pub(crate) fn published_size(&self, head: &SignedHead) -> u64 {
        let latest = self.latest.read().unwrap_or_else(|e| e.into_inner());
        match latest.as_deref() {
            Some(c) if self.quorum > 0 || (c.size == head.size && c.root == head.root) => c.size,
            None if self.quorum > 0 => 0,
            _ => head.size,
        }
    }

    /// Keeps `cosigned` if it has enough cosignatures and is not older than
    /// the one kept; whether it was kept.
    fn store(&self, cosigned: CosignedCheckpoint) -> bool {
        let enough =
            usize::try_from(cosigned.cosignatures).unwrap_or(usize::MAX) >= self.quorum.max(1);
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        let newer = latest
            .as_ref()
            .is_none_or(|kept| cosigned.size >= kept.size);
        if enough && newer {
            *latest = Some(Arc::new(cosigned));
        }
        enough && newer
    }
}

/// Starts the witnessing task for `tree`; it ends when the tree's sequencer
/// stops publishing heads.
pub(crate) fn start(tree: LogTree, policy: WitnessPolicy, witnessed: Arc<Witnessed>) {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap_or_default();
    let witnesses: Vec<WitnessState> = policy
        .witnesses
        .into_iter()
        .map(|config| WitnessState {
            config,
            last_size: 0,
        })
        .collect();
    let heads = tree.sequencer().subscribe();
    tokio::spawn(run(tree, client, witnesses, witnessed, heads));
}

struct WitnessState {
    config: WitnessConfig,
    /// The size this witness last cosigned, as far as this process knows.
    last_size: u64,
}

async fn run(
    tree: LogTree,
    client: reqwest::Client,
    mut witnesses: Vec<WitnessState>,
    witnessed: Arc<Witnessed>,
    mut heads: watch::Receiver<Arc<SignedHead>>,
) {
    // What was cosigned before this process started (by it or by another
    // replica), so a restart under a quorum publishes at once.
    adopt_stored(&tree, &witnessed).await;
    let mut last_round: Option<(u64, Hash)> = None;
    loop {
        let head = heads.borrow_and_update().clone();
        let leader = tree.sequencer().is_leader();
        if leader && last_round != Some((head.size, head.root)) {
            last_round = Some((head.size, head.root));
            match round(&tree, &client, &mut witnesses, &head).await {
                Ok(cosigned) => {
                    if witnessed.store(cosigned.clone()) {
                        if let Err(e) = tree.store().save_cosigned(tree.id(), &cosigned).await {
                            tracing::warn!(error = %e, size = cosigned.size, "storing a cosigned checkpoint");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, size = head.size, "witness round failed"),
            }
        } else if !leader {
            // A follower asks nobody: it serves what the leader stored. On
            // taking the lead it asks for the head it has then.
            last_round = None;
            adopt_stored(&tree, &witnessed).await;
        }
        // Heads wake the leader; a follower also looks again now and then,
        // since the leader stores its round's result after the head.
        let wait = if leader { Duration::MAX } else { FOLLOWER_POLL };
        // A timeout just loops; a closed channel means the sequencer ended.
        if let Ok(Err(_)) = tokio::time::timeout(wait, heads.changed()).await {
            return;
        }
    }
}

/// How often a follower reads the stored cosigned checkpoint when no new
/// head arrives.
const FOLLOWER_POLL: Duration = Duration::from_secs(1);

/// Takes the stored cosigned checkpoint, if it is newer than the one held.
async fn adopt_stored(tree: &LogTree, witnessed: &Witnessed) {
    match tree.store().latest_cosigned(tree.id()).await {
        Ok(Some(stored)) => {
            witnessed.store(stored);
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "reading the stored cosigned checkpoint"),
    }
}

/// Asks every witness, concurrently, to cosign `head`.
async fn round(
    tree: &LogTree,
    client: &reqwest::Client,
    witnesses: &mut [WitnessState],
    head: &SignedHead,
) -> Result<CosignedCheckpoint, String> {
    let note_text = String::from_utf8(head.signed.clone()).map_err(|e| e.to_string())?;
    let mut note = SignedNote::parse(&note_text).map_err(|e| e.to_string())?;
    let asks = witnesses
        .iter_mut()
        .map(|w| ask(tree, client, w, head, &note_text, &note.text));
    let results = futures_util::future::join_all(asks).await;
    let mut cosignatures = 0;
    for sig in results.into_iter().flatten() {
        note.signatures.push(sig);
        cosignatures += 1;
    }
    Ok(CosignedCheckpoint {
        size: head.size,
        root: head.root,
        note: note.to_text(),
        cosignatures,
    })
}

/// One witness: `add-checkpoint`, following one 409 to the size it reports.
async fn ask(
    tree: &LogTree,
    client: &reqwest::Client,
    witness: &mut WitnessState,
    head: &SignedHead,
    note: &str,
    text: &str,
) -> Option<NoteSignature> {
    let url = format!("{}/add-checkpoint", witness.config.url);
    for _attempt in 0..2 {
        let old = witness.last_size;
        if old > head.size {
            tracing::error!(
                witness = %witness.config.url, witness_size = old, size = head.size,
                "the witness has cosigned a larger tree than this log's"
            );
            witness.last_size = 0;
            return None;
        }
        let proof = match old {
            0 => Vec::new(),
            old if old == head.size => Vec::new(),
            old => match tree.consistency_proof(old, head.size).await {
                Ok(proof) => proof,
                Err(e) => {
                    tracing::warn!(error = %e, "consistency proof for a witness");
                    return None;
                }
            },
        };
        let body = add_checkpoint_body(old, &proof, note);
        let response = match client.post(&url).body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(witness = %url, error = %e, "witness unreachable");
                return None;
            }
        };
        let status = response.status().as_u16();
        let reply = response.text().await.unwrap_or_default();
        match status {
            200 => {
                let found = verified_cosignature(&witness.config.cosigner, note, text, &reply);
                match &found {
                    Some(_) => witness.last_size = head.size,
                    None => tracing::warn!(
                        witness = %url,
                        "the witness answered 200 without a valid cosignature of its key"
                    ),
                }
                return found;
            }
            409 => match reply.trim_end_matches('\n').parse::<u64>() {
                Ok(size) if size != old => {
                    tracing::info!(witness = %url, size, "following the witness's size");
                    witness.last_size = size;
                }
                _ => {
                    tracing::warn!(witness = %url, reply = %reply.trim(), "unusable 409");
                    return None;
                }
            },
            _ => {
                tracing::warn!(witness = %url, status, reply = %reply.trim(), "witness refused the checkpoint");
                return None;
            }
        }
    }
    None
}

/// The request body of § add-checkpoint.
fn add_checkpoint_body(old: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&STANDARD.encode(hash.0));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// The witness's cosignature among the reply's signature lines, if one
/// verifies over `text` (lines of other keys are ignored, as the spec says).
fn verified_cosignature(
    cosigner: &Cosigner,
    note: &str,
    text: &str,
    reply: &str,
) -> Option<NoteSignature> {
    // § add-checkpoint: the reply's lines may be appended to the note and
    // parsed as one.
    let parsed = SignedNote::parse(&format!("{note}{reply}")).ok()?;
    if parsed.text != text {
        return None;
    }
    parsed
        .signatures
        .into_iter()
        .find(|sig| cosigner.verify(text, sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::note::CosignerKey;

    #[test]
    fn parses_url_and_vkey_and_refuses_a_note_key() {
        let key = CosignerKey::generate("witness.example/w1").unwrap();
        let config: WitnessConfig = format!("https://witness.example/w1/,{}", key.vkey())
            .parse()
            .unwrap();
        assert_eq!(config.url, "https://witness.example/w1");
        assert_eq!(config.cosigner.name(), "witness.example/w1");
        assert!("https://w.example".parse::<WitnessConfig>().is_err());
        assert!(format!("ftp://w,{}", key.vkey())
            .parse::<WitnessConfig>()
            .is_err());
        let log_key = shared::note::Ed25519NoteKey::generate("log.example").unwrap();
        let err = format!("https://w.example,{}", log_key.vkey())
            .parse::<WitnessConfig>()
            .unwrap_err();
        assert!(err.contains("0x01"), "{err}");
    }

    #[test]
    fn the_request_body_is_old_size_proof_blank_line_note() {
        let body = add_checkpoint_body(
            5,
            &[Hash([0u8; 32]), Hash([1u8; 32])],
            "origin\n9\nAAA=\n\n— sig\n",
        );
        assert_eq!(
            body,
            format!(
                "old 5\n{}\n{}\n\norigin\n9\nAAA=\n\n— sig\n",
                STANDARD.encode([0u8; 32]),
                STANDARD.encode([1u8; 32])
            )
        );
    }

    #[test]
    fn keeps_only_a_valid_cosignature_of_the_configured_key() {
        let log = shared::note::Ed25519NoteKey::generate("log.example").unwrap();
        let text = "log.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = log.sign_note(text);
        let witness = CosignerKey::generate("w.example").unwrap();
        let other = CosignerKey::generate("other.example").unwrap();
        let cosigner = Cosigner::from_vkey(&witness.vkey()).unwrap();
        let line = |sig: NoteSignature| {
            SignedNote {
                text: String::new(),
                signatures: vec![sig],
            }
            .to_text()
            .trim_start_matches('\n')
            .to_owned()
        };
        let good = line(witness.cosign(text, 1_800_000_000));
        let reply = format!("{}{good}", line(other.cosign(text, 1_800_000_000)));
        let found = verified_cosignature(&cosigner, &note, text, &reply).unwrap();
        assert_eq!(cosigner.verify(text, &found), Ok(1_800_000_000));
        // A cosignature over another checkpoint is not kept.
        let stale = line(witness.cosign("log.example\n2\nAAAA\n", 1_800_000_000));
        assert_eq!(verified_cosignature(&cosigner, &note, text, &stale), None);
        assert_eq!(
            verified_cosignature(&cosigner, &note, text, "garbage"),
            None
        );
    }

    #[test]
    fn the_published_checkpoint_follows_the_policy() {
        let head = SignedHead {
            size: 10,
            root: Hash([1; 32]),
            timestamp_ms: 0,
            signed: b"log note\n".to_vec(),
        };
        let cosigned = |size, root| CosignedCheckpoint {
            size,
            root,
            note: format!("cosigned {size}"),
            cosignatures: 1,
        };
        // What is published, checking that the tile path's size agrees.
        let seen = |w: &Witnessed, head: &SignedHead| match w.published(head) {
            Published::Note { note } => {
                Some((w.published_size(head), String::from_utf8(note).unwrap()))
            }
            Published::AwaitingQuorum => {
                assert_eq!(w.published_size(head), 0);
                None
            }
        };
        // Best effort: the head, cosigned only when the round was for it.
        let best_effort = Witnessed::new(0);
        assert_eq!(seen(&best_effort, &head), Some((10, "log note\n".into())));
        best_effort.store(cosigned(9, Hash([2; 32])));
        assert_eq!(seen(&best_effort, &head), Some((10, "log note\n".into())));
        best_effort.store(cosigned(10, Hash([1; 32])));
        assert_eq!(seen(&best_effort, &head), Some((10, "cosigned 10".into())));
        // Quorum: nothing until a cosigned checkpoint, then the cosigned one.
        let quorum = Witnessed::new(2);
        assert_eq!(seen(&quorum, &head), None);
        quorum.store(cosigned(9, Hash([2; 32]))); // one cosignature of two: not kept
        assert_eq!(seen(&quorum, &head), None);
        quorum.store(CosignedCheckpoint {
            cosignatures: 2,
            ..cosigned(9, Hash([2; 32]))
        });
        assert_eq!(seen(&quorum, &head), Some((9, "cosigned 9".into())));
    }
}
