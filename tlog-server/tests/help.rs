//! `tlog-server --help` must not print secrets that clap would otherwise
//! echo from the environment (docs/design.md, "Secrets are kept out of
//! output": the database URL holds a password).

#![allow(clippy::unwrap_used)]

#[test]
fn help_never_shows_the_database_password_from_the_environment() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tlog-server"))
        .arg("--help")
        .env(
            "TLOG_DATABASE_URL",
            "postgres://sigil:hunter2-secret@db.example:5432/sigil",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("TLOG_DATABASE_URL"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}
