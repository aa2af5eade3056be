#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one
# after another, starting from the seed corpus in fuzz/corpus/<target>.
# Needs the nightly toolchain (`rustup toolchain install nightly`) and
# cargo-fuzz (`cargo install cargo-fuzz --locked`); both are installed here
# when missing. A crash, hang (>10 s per input) or OOM (>2 GiB) stops the run
# and leaves the input in fuzz/artifacts/<target>/; add it as a regression
# test beside the parser it broke. New corpus entries stay in
# fuzz/corpus-local/ (not committed).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus-local/$target"
  log="fuzz/logs/$target.log"
  echo "== $target (${seconds}s)"
  if ! cargo +nightly fuzz run -O "$target" "fuzz/corpus-local/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "finding in $target: see $log and fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
done
echo "all ${#targets[@]} targets ran ${seconds}s each with no crash, hang or OOM"
