//! A Rekor v1 log read the way an auditor must (docs/rekor-wire.md §1, §3):
//! every tree head is a signed checkpoint verified against a key given out
//! of band, every step from one head to the next is a verified RFC 6962 §2.1.2
//! consistency proof, and every entry read comes with an inclusion proof
//! (§2.1.1) that is checked against a verified head. Nothing the log says
//! is taken on trust; what does not verify is an error, never skipped.

use std::collections::HashMap;

use anyhow::{anyhow, bail, ensure, Context as _};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use shared::checkpoint::Checkpoint;
use shared::keys::PublicKey;
use shared::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use shared::note::SignedNote;

use super::http::read_capped;

/// Entries asked for per `entries/retrieve` (Rekor's maximum).
const RETRIEVE_BATCH: u64 = 10;
/// `entries/retrieve` requests sent at once while reading a range.
pub const RETRIEVES_IN_FLIGHT: usize = 8;

/// A retrieve being answered: the indexes asked, and the answer.
type Retrieve = tokio::task::JoinHandle<anyhow::Result<(Vec<u64>, Vec<HashMap<String, LogEntry>>)>>;

/// The largest answer read: ten entries of the log's 32 MiB maximum would
/// not fit, but no real retrieve comes near (bodies are stored hashed).
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// A tree head whose checkpoint signature verified.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifiedHead {
    pub tree_id: String,
    pub size: u64,
    /// Lower-case hex.
    pub root_hash: String,
}

impl VerifiedHead {
    pub fn root(&self) -> anyhow::Result<Hash> {
        Hash::from_hex(&self.root_hash).map_err(|e| anyhow!("root hash: {e}"))
    }
}

/// An entry whose inclusion in a verified head was proven.
pub struct ProvenEntry {
    pub index: u64,
    pub uuid: String,
    pub integrated_time: i64,
    /// The canonical body, parsed (`Null` if it is not JSON).
    pub body: serde_json::Value,
    /// The canonical body as logged: the Merkle leaf's data.
    pub body_bytes: Vec<u8>,
}

/// A Rekor v1 log and the key its checkpoints must verify with.
pub struct RekorV1 {
    http: reqwest::Client,
    base: String,
    key: PublicKey,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogInfo {
    root_hash: String,
    tree_size: u64,
    signed_tree_head: String,
    #[serde(rename = "treeID")]
    tree_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProof {
    hashes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    body: String,
    integrated_time: i64,
    log_index: u64,
    verification: Verification,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    inclusion_proof: InclusionProof,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProof {
    hashes: Vec<String>,
    log_index: u64,
    root_hash: String,
    tree_size: u64,
}

impl RekorV1 {
    /// The log at `base`, whose checkpoints must verify with the PEM key in
    /// `key_file` (from the log's trust root, never from the log itself).
    pub fn with_key_file(base: &str, key_file: &std::path::Path) -> anyhow::Result<Self> {
        let pem =
            std::fs::read(key_file).with_context(|| format!("reading {}", key_file.display()))?;
        let key = PublicKey::from_pem(&pem).map_err(|e| anyhow!("{}: {e}", key_file.display()))?;
        Self::new(base, key)
    }

    pub fn new(base: &str, key: PublicKey) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            key,
        })
    }

    /// A checkpoint (a signed note, as in `signedTreeHead` or a bundle's
    /// `checkpoint.envelope`) verified with the log key, and its tree ID
    /// (the origin is `"<host> - <treeID>"`).
    pub fn verify_checkpoint(&self, signed: &str) -> anyhow::Result<(Checkpoint, String)> {
        let note = SignedNote::parse(signed)
            .map_err(|e| anyhow!("the checkpoint is not a signed note: {e}"))?;
        let checkpoint = Checkpoint::parse(&note.text)
            .map_err(|e| anyhow!("the signed note is not a checkpoint: {e}"))?;
        // Rekor v1 names the signature after the origin's host name.
        let (name, tree_id) = checkpoint
            .origin
            .split_once(" - ")
            .ok_or_else(|| anyhow!("checkpoint origin {:?} names no tree", checkpoint.origin))?;
        note.verify_v1(name, &self.key)
            .map_err(|e| anyhow!("the checkpoint does not verify with the log key: {e}"))?;
        let tree_id = tree_id.to_owned();
        Ok((checkpoint, tree_id))
    }

    /// The log's current head, after checking its checkpoint's signature
    /// and that the checkpoint says what the JSON around it says.
    pub async fn head(&self) -> anyhow::Result<VerifiedHead> {
        let info: LogInfo = self.get_json("/api/v1/log").await?;
        let (checkpoint, tree_id) = self.verify_checkpoint(&info.signed_tree_head)?;
        ensure!(
            checkpoint.size == info.tree_size && checkpoint.root.to_hex() == info.root_hash,
            "the log's treeSize/rootHash ({}, {}) differ from its signed checkpoint ({}, {})",
            info.tree_size,
            info.root_hash,
            checkpoint.size,
            checkpoint.root.to_hex()
        );
        ensure!(
            tree_id == info.tree_id,
            "the checkpoint's origin {:?} is not for tree {}",
            checkpoint.origin,
            info.tree_id
        );
        Ok(VerifiedHead {
            tree_id: info.tree_id,
            size: checkpoint.size,
            root_hash: checkpoint.root.to_hex(),
        })
    }

    /// Proves that `new` extends `old` (RFC 6962 §2.1.2); an error means the
    /// log is not append-only, or cannot show that it is.
    pub async fn prove_consistent(
        &self,
        old: &VerifiedHead,
        new: &VerifiedHead,
    ) -> anyhow::Result<()> {
        ensure!(
            old.tree_id == new.tree_id,
            "the log's tree changed from {} to {}",
            old.tree_id,
            new.tree_id
        );
        ensure!(
            new.size >= old.size,
            "the log shrank from {} to {} entries",
            old.size,
            new.size
        );
        if old.size == new.size {
            ensure!(
                old.root_hash == new.root_hash,
                "two different roots for size {}: {} and {}",
                old.size,
                old.root_hash,
                new.root_hash
            );
            return Ok(());
        }
        if old.size == 0 {
            return Ok(());
        }
        let proof: ConsistencyProof = self
            .get_json(&format!(
                "/api/v1/log/proof?firstSize={}&lastSize={}&treeID={}",
                old.size, new.size, new.tree_id
            ))
            .await?;
        let hashes = hex_hashes(&proof.hashes)?;
        verify_consistency(old.size, new.size, &old.root()?, &new.root()?, &hashes).map_err(|e| {
            anyhow!(
                "no valid consistency proof from size {} to {}: {e}",
                old.size,
                new.size
            )
        })
    }

    /// Entries `range` (within `head`), each proven included in `head` (or
    /// in a later head that is itself proven consistent with `head`).
    pub async fn entries(
        &self,
        range: std::ops::Range<u64>,
        head: &VerifiedHead,
    ) -> anyhow::Result<Vec<ProvenEntry>> {
        ensure!(
            range.end <= head.size,
            "entries up to {} asked of a tree of {}",
            range.end,
            head.size
        );
        let mut later_heads: HashMap<u64, String> = HashMap::new();
        let mut out = Vec::new();
        let mut pending = std::collections::VecDeque::new();
        let mut next = range.start;
        while next < range.end || !pending.is_empty() {
            while next < range.end && pending.len() < RETRIEVES_IN_FLIGHT {
                let end = (next + RETRIEVE_BATCH).min(range.end);
                pending.push_back(self.spawn_retrieve((next..end).collect()));
                next = end;
            }
            let Some(task) = pending.pop_front() else {
                break;
            };
            let (indexes, answer) = task.await??;
            let mut got: Vec<(String, LogEntry)> = answer.into_iter().flatten().collect();
            got.sort_by_key(|(_, e)| e.log_index);
            let got_indexes: Vec<u64> = got.iter().map(|(_, e)| e.log_index).collect();
            ensure!(
                got_indexes == indexes,
                "asked for entries {indexes:?}, the log answered {got_indexes:?}"
            );
            for (uuid, entry) in got {
                self.prove_included(&entry, head, &mut later_heads).await?;
                let body = B64
                    .decode(&entry.body)
                    .context("an entry body is not base64")?;
                out.push(ProvenEntry {
                    index: entry.log_index,
                    uuid,
                    integrated_time: entry.integrated_time,
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    body_bytes: body,
                });
            }
        }
        Ok(out)
    }

    /// Asks for entries `indexes` in the background.
    fn spawn_retrieve(&self, indexes: Vec<u64>) -> Retrieve {
        let url = format!("{}/api/v1/log/entries/retrieve", self.base);
        let http = self.http.clone();
        tokio::spawn(async move {
            let response = http
                .post(&url)
                .json(&serde_json::json!({ "logIndexes": indexes }))
                .send()
                .await
                .with_context(|| format!("POST {url}"))?;
            let answer = read_json(response, &url).await?;
            Ok((indexes, answer))
        })
    }

    async fn prove_included(
        &self,
        entry: &LogEntry,
        head: &VerifiedHead,
        later_heads: &mut HashMap<u64, String>,
    ) -> anyhow::Result<()> {
        let proof = &entry.verification.inclusion_proof;
        ensure!(
            proof.log_index == entry.log_index,
            "entry {}: its proof is for index {}",
            entry.log_index,
            proof.log_index
        );
        let body = B64
            .decode(&entry.body)
            .context("an entry body is not base64")?;
        let root = Hash::from_hex(&proof.root_hash).map_err(|e| anyhow!("proof root: {e}"))?;
        verify_inclusion(
            &leaf_hash(&body),
            proof.log_index,
            proof.tree_size,
            &hex_hashes(&proof.hashes)?,
            &root,
        )
        .map_err(|e| anyhow!("entry {}: inclusion proof fails: {e}", entry.log_index))?;
        // The proof's root must be the verified head, or a later head the
        // verified one is consistent with (the log grew while we read).
        let proof_head = VerifiedHead {
            tree_id: head.tree_id.clone(),
            size: proof.tree_size,
            root_hash: proof.root_hash.to_ascii_lowercase(),
        };
        match proof.tree_size.cmp(&head.size) {
            std::cmp::Ordering::Less => bail!(
                "entry {}: proven against an older tree ({} < {})",
                entry.log_index,
                proof.tree_size,
                head.size
            ),
            std::cmp::Ordering::Equal => ensure!(
                proof_head.root_hash == head.root_hash,
                "entry {}: proven against a root {} that is not the checkpoint's {}",
                entry.log_index,
                proof_head.root_hash,
                head.root_hash
            ),
            std::cmp::Ordering::Greater => match later_heads.get(&proof.tree_size) {
                Some(root) => ensure!(
                    *root == proof_head.root_hash,
                    "two different roots for size {}",
                    proof.tree_size
                ),
                None => {
                    self.prove_consistent(head, &proof_head).await?;
                    later_heads.insert(proof.tree_size, proof_head.root_hash);
                }
            },
        }
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        read_json(response, &url).await
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    url: &str,
) -> anyhow::Result<T> {
    let bytes = read_capped(response, url, MAX_ANSWER_BYTES).await?;
    serde_json::from_slice(&bytes).with_context(|| format!("{url} answered malformed JSON"))
}

fn hex_hashes(hashes: &[String]) -> anyhow::Result<Vec<Hash>> {
    hashes
        .iter()
        .map(|h| Hash::from_hex(h).map_err(|e| anyhow!("proof hash {h:?}: {e}")))
        .collect()
}
