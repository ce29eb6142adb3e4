#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that input reaches (libFuzzer through cargo fuzz).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Runs each target (all of crates/fuzz's TARGETS by default) for SECONDS_PER_TARGET (60),
# one per core, starting from fuzz/seeds/<target>/ and fuzz/corpus/<target>/ and growing the
# corpus with what finds new coverage; prints executions per target and in total. A crash
# stops the target and leaves its input in fuzz/artifacts/<target>/ — once fixed, keep it as
# fuzz/seeds/<target>/found-<what>, so the test suite replays it for good. Stable Rust: cargo fuzz needs nightly flags, which RUSTC_BOOTSTRAP
# lets this toolchain accept. After a long run, `scripts/fuzz.sh --minimize` shrinks the
# corpora to the inputs that keep their coverage.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
targets_all=(registration assertion mds_blob graph_body rules odata authorize text_fields)

if [ "${1:-}" = "--minimize" ]; then
  for t in "${targets_all[@]}"; do
    cargo fuzz cmin --fuzz-dir fuzz -O "$t" "fuzz/corpus/$t" -- "fuzz/seeds/$t" 2>&1 | grep -E '^(MERGE-OUTER: [0-9]+ new files|INFO: Seed)' || true
  done
  exit 0
fi

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
cargo fuzz build --fuzz-dir fuzz -O >&2

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # -rss_limit_mb: a parser that allocates without bound is a finding too.
  if fuzz/target/*/release/"$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
      -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$logs/$t.log" 2>&1; then
    echo ok >"$logs/$t.status"
  else
    echo CRASH >"$logs/$t.status"
  fi
}
jobs_max=$(nproc)
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  echo "==> fuzzing $t for ${secs}s" >&2
  run "$t" &
done
wait

total=0
failed=0
printf '%-14s %14s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -n 1)
  status=$(cat "$logs/$t.status")
  printf '%-14s %14s %10s  %s\n' "$t" "${n:-0}" "${rate:-0}" "$status"
  total=$((total + ${n:-0}))
  if [ "$status" != ok ]; then
    failed=1
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$logs/$t.log" | head -n 8 >&2
  fi
done
printf '%-14s %14s\n' total "$total"
exit "$failed"
