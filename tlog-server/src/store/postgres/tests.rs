//! Postgres store tests, each on a fresh database of the machine's Postgres:
//! the shared behaviour suite, plus what only a shared database has (racing
//! writers, the sequencing lock) and the query plans.

use sqlx::Connection as _;

use super::*;
use crate::store::suite::{PgDatabase, PgFixture, StoreFixture as _, Writer};

crate::store::suite::behaviour_suite!(crate::store::suite::PgFixture);

/// Two processes' stores commit competing batches from the same base at
/// the same moment: exactly one wins, the tree never forks.
#[tokio::test]
async fn racing_writers_cannot_fork_the_tree() {
    let f = PgFixture::create().await;
    let a = f.open().await;
    let b = f.open().await;
    let tree = a.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    a.commit(w.empty()).await.unwrap();
    w.commit(a.as_ref(), 10).await;
    for _ in 0..5 {
        let (one, _) = w.batch(3);
        // A different batch from the same base.
        let (two, _) = w.batch(5);
        let (r1, r2) = tokio::join!(a.commit(one), b.commit(two));
        assert!(
            r1.is_ok() != r2.is_ok(),
            "exactly one commit wins: {r1:?} {r2:?}"
        );
        let loser = if r1.is_ok() { r2 } else { r1 };
        assert!(matches!(loser, Err(StoreError::Conflict(_))), "{loser:?}");
        // Continue from whatever the store now holds.
        let stored = a.latest_head(tree).await.unwrap().unwrap();
        let won = if stored.size == w.frontier.size() + 3 {
            3
        } else {
            5
        };
        assert_eq!(stored.size, w.frontier.size() + won);
        let heads: i64 =
            sqlx::query_scalar("SELECT count(*) FROM tree_heads WHERE tree_id = $1 AND size > $2")
                .bind(tree.get())
                .bind(w.frontier.size() as i64)
                .fetch_one(&store_pool(&f.0).await)
                .await
                .unwrap();
        assert_eq!(heads, 1);
        // Rebuild the writer's view from the store for the next round.
        let entries = a.entries_in_range(tree, 0, stored.size).await.unwrap();
        let mut rebuilt = Writer::new(tree);
        for e in &entries {
            let nodes = rebuilt
                .frontier
                .append(shared::merkle::leaf_hash(&e.entry.body));
            rebuilt.nodes.extend(nodes);
        }
        assert_eq!(rebuilt.frontier.root(), stored.root);
        w = rebuilt;
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Exactly one store leads a tree; closing it hands the lock over.
#[tokio::test]
async fn one_leader_per_tree_and_a_standby_takes_over() {
    let f = PgFixture::create().await;
    let a = f.open().await;
    let b = f.open().await;
    let rekor = a.tree("rekor").await.unwrap();
    let ct = a.tree("ct").await.unwrap();
    assert_eq!(a.lead(rekor).await.unwrap(), Leadership::Leader);
    assert_eq!(
        a.lead(rekor).await.unwrap(),
        Leadership::Leader,
        "re-checks keep it"
    );
    assert_eq!(b.lead(rekor).await.unwrap(), Leadership::Follower);
    // Trees are locked independently.
    assert_eq!(b.lead(ct).await.unwrap(), Leadership::Leader);
    assert_eq!(a.lead(ct).await.unwrap(), Leadership::Follower);
    a.close().await.unwrap();
    assert_eq!(b.lead(rekor).await.unwrap(), Leadership::Leader);

    // A leader whose lock session dies (killed, network cut) finds, on its
    // next check, the lock taken by the standby, and steps down.
    let c = f.open().await;
    assert_eq!(c.lead(rekor).await.unwrap(), Leadership::Follower);
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND (classid::bigint << 32 | objid::bigint) = $1",
    )
    .bind(rekor.get())
    .fetch_all(&store_pool(&f.0).await)
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);
    let taken = async {
        for _ in 0..50 {
            if c.lead(rekor).await.unwrap() == Leadership::Leader {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(
        taken.await,
        "the standby takes the lock once the session is gone"
    );
    assert_eq!(b.lead(rekor).await.unwrap(), Leadership::Follower);
    assert_eq!(
        b.lead(ct).await.unwrap(),
        Leadership::Leader,
        "it re-takes its free lock"
    );
    b.close().await.unwrap();
    c.close().await.unwrap();
}

/// The lookups a proof and a duplicate check make are index scans on a
/// table big enough that a sequential scan would be chosen if the query
/// could not use the primary key.
#[tokio::test]
async fn lookups_are_index_scans() {
    let db = PgDatabase::create().unwrap();
    let store = PgStore::open(&db.url()).await.unwrap();
    let tree = store.tree("rekor").await.unwrap();
    let pool = store.pool.clone();
    // 200,000 tiles, entries and heads of another tree, then fresh statistics.
    sqlx::query(
        "INSERT INTO tiles (tree_id, level, idx, hashes) \
         SELECT 7, (g % 8)::smallint, g / 8, decode(repeat('00', 32), 'hex') \
         FROM generate_series(0, 199999) AS g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        "INSERT INTO trees (name, tree_id, created_at) VALUES ('other', 7, 0); \
         INSERT INTO entries (tree_id, idx, identity, body, timestamp_ms) \
         SELECT 7, g, sha256(int8send(g)), '\\x00', 0 FROM generate_series(0, 199999) AS g; \
         INSERT INTO tree_heads (tree_id, size, root, timestamp_ms, signed) \
         SELECT 7, g, sha256(int8send(g)), 0, '\\x00' FROM generate_series(0, 199999) AS g; \
         ANALYZE",
    )
    .execute(&pool)
    .await
    .unwrap();

    let plan = explain(
        &pool,
        sqlx::query(&format!("EXPLAIN {TILES_QUERY}"))
            .bind(tree.get())
            .bind(vec![0i16, 0, 1])
            .bind(vec![5i64, 6, 0]),
    )
    .await;
    assert!(plan.contains("Index Scan using tiles_pkey"), "{plan}");
    assert!(!plan.contains("Seq Scan on tiles"), "{plan}");

    let plan = explain(
        &pool,
        sqlx::query(
            "EXPLAIN SELECT idx, identity, body, timestamp_ms FROM entries \
             WHERE tree_id = $1 AND identity = ANY($2::bytea[])",
        )
        .bind(7i64)
        .bind(vec![vec![1u8; 32], vec![2u8; 32]]),
    )
    .await;
    assert!(plan.contains("entries_by_identity"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");

    let plan = explain(
        &pool,
        sqlx::query(
            "EXPLAIN SELECT size, root, timestamp_ms, signed FROM tree_heads \
             WHERE tree_id = $1 ORDER BY size DESC LIMIT 1",
        )
        .bind(7i64),
    )
    .await;
    assert!(
        plan.contains("Index Scan Backward using tree_heads_pkey"),
        "{plan}"
    );
    store.close().await.unwrap();
}

async fn explain(
    pool: &PgPool,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> String {
    query
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A direct pool on a test database, for assertions on raw rows.
async fn store_pool(db: &PgDatabase) -> PgPool {
    let pool = PgPool::connect(&db.url()).await.unwrap();
    // One ping proves the database is there.
    pool.acquire().await.unwrap().ping().await.unwrap();
    pool
}
