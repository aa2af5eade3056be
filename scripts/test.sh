#!/usr/bin/env bash
# Runs Sigil's whole test suite on a fresh machine: makes the source gates
# (fmt, import loops, unused dependencies, cargo-deny), installs the real
# Sigstore clients the end-to-end tests drive (sigstore-python and OpenSSF
# model-signing from PyPI, sigstore-js 4.x and 5.x from npm, all pinned) and
# the services they need, builds the binaries the tests start, runs every
# test in the workspace in the dev profile, and lints with clippy.
set -euo pipefail
cd "$(dirname "$0")/.."

# Gates on the source, cheapest first and before any install, so a bad
# format or a loop fails in seconds; each fails the run.
# - formatting: keeps diffs about behaviour;
cargo fmt --all --check
# - no import loop between the modules of any crate;
python3 scripts/import_loops.py --self-test
python3 scripts/import_loops.py
# - no dependency a crate declares but does not use (a source scan);
cargo_tool() { # NAME VERSION: installs the pinned cargo subcommand if missing
  local have
  have=$(cargo "${1#cargo-}" --version 2>/dev/null || true)
  [[ " $have " == *" $2 "* ]] || cargo install --quiet --locked "$1@$2"
}
cargo_tool cargo-machete 0.9.2
cargo machete
# - licences, banned crates and registries (deny.toml; no advisory database).
cargo_tool cargo-deny 0.20.2
cargo fetch --locked --quiet
cargo deny --offline --log-level error check bans licenses sources

# sigstore-python 4.5.1 and model-signing 1.1.1 share one venv (model-signing
# only adds its own pinned packages to sigstore-python's exact set); installed
# again only when a requirements file changed.
venv=target/e2e-venv
reqs=(tests/e2e/requirements.txt tests/e2e/requirements-model-signing.txt)
if ! cat "${reqs[@]}" | cmp -s - "$venv/sigil-installed-requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements-model-signing.txt
  cat "${reqs[@]}" >"$venv/sigil-installed-requirements.txt"
fi

# sigstore-js: 4.x pinned by tests/e2e/package-lock.json, 5.x by
# tests/e2e/js5/package-lock.json; installed again only when a lock changed.
for dir in tests/e2e tests/e2e/js5; do
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.sigil-installed-lock.json"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error &&
      cp package-lock.json node_modules/.sigil-installed-lock.json)
  fi
done

# The Postgres store's tests create (and drop) their own databases on the
# machine's Postgres at 127.0.0.1:5432 (user postgres, trust auth): start the
# cluster if it is down. SIGIL_TEST_POSTGRES_URL names another server instead
# (test-support/src/postgres.rs); then the local one is left alone.
if [[ -z "${SIGIL_TEST_POSTGRES_URL:-}" ]] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start >/dev/null
fi

# The PKCS#11 CA backend's tests use a SoftHSM2 token (ca-server, Debian's softhsm2);
# opensc's pkcs11-tool is what the README uses to provision HSM keys.
command -v softhsm2-util >/dev/null || (apt-get update -qq && apt-get install -y -qq softhsm2 opensc >/dev/null)

# The log explorer's test renders its pages in Debian's headless Chromium.
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The e2e tests start the `sigil` binary of this same build.
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"

# Lints last: clippy checks in its own mode, so it shares no build with the
# tests; run after them, a lint never hides a test failure.
cargo clippy --workspace --all-targets --locked -- -D warnings
