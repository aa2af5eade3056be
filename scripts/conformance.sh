#!/usr/bin/env bash
# Checks Sigil against the upstream API descriptions with schemathesis (PyPI,
# pinned below): Rekor's `openapi.yaml` (sigstore/rekor) and Fulcio's
# `fulcio.swagger.json` and `fulcio_legacy.swagger.json` (sigstore/fulcio).
# Those files are not in this repository; pass their paths.
#
#   scripts/conformance.sh REKOR_OPENAPI FULCIO_SWAGGER FULCIO_LEGACY_SWAGGER [SECONDS]
#
# It starts `sigil dev` on a scratch directory and runs, per description,
# SECONDS (default 120) of generated requests twice:
#   1. `not_a_server_error` only; this pass must find nothing, and the script
#      fails when it does;
#   2. every check, as a report. Each difference it prints is either fixed or
#      listed under "Deliberate deviations from the API descriptions" in
#      the README, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
rekor=$(realpath "$1")
fulcio=$(realpath "$2")
fulcio_legacy=$(realpath "$3")
seconds=${4:-120}

venv=target/conformance-venv
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/pip" show schemathesis 2>/dev/null | grep -qx 'Version: 4.32.5'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
fi

cargo build --bin sigil --locked
data=$(mktemp -d)
trap 'kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; rm -rf "$data"' EXIT
tlog=http://127.0.0.1:16000
ca=http://127.0.0.1:16555
target/debug/sigil dev --data-dir "$data" --tlog-port 16000 --ca-port 16555 --oidc-port 16556 \
  >"$data/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 120); do
  curl -sf "$tlog/api/v1/log" >/dev/null && curl -sf "$ca/api/v2/configuration" >/dev/null && break
  sleep 0.5
done

status=0
for spec in "$rekor $tlog" "$fulcio $ca" "$fulcio_legacy $ca"; do
  set -- $spec
  echo "== $(basename "$1") against $2: no 5xx"
  "$venv/bin/st" run "$1" --url "$2" --checks not_a_server_error --max-time "$seconds" \
    --workers 2 --no-color || status=1
  echo "== $(basename "$1") against $2: every check (report)"
  "$venv/bin/st" run "$1" --url "$2" --checks all --max-time "$seconds" --workers 2 \
    --no-color || true
done
exit $status
