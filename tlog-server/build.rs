//! Rebuild when a migration changes: `sqlx::migrate!` embeds the SQL files.

fn main() {
    println!("cargo:rerun-if-changed=../migrations/sqlite");
    println!("cargo:rerun-if-changed=../migrations/postgres");
}
