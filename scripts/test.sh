#!/usr/bin/env bash
# Runs Sigil's whole test suite on a fresh machine: installs the real Sigstore
# clients the end-to-end tests drive (sigstore-python from PyPI, sigstore-js
# from npm, both pinned), builds the binaries the tests start, and runs every
# test in the workspace in the dev profile.
set -euo pipefail
cd "$(dirname "$0")/.."

# sigstore-python 4.5.1 and its exact dependency set.
venv=target/e2e-venv
if ! "$venv/bin/sigstore" --version 2>/dev/null | grep -qx 'sigstore 4.5.1'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
fi

# sigstore-js, pinned by tests/e2e/package-lock.json.
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

# The e2e tests start the `sigil` binary of this same build.
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
