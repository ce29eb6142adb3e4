#!/usr/bin/env bash
# The sign-in benchmark in one command (see BENCHMARKS.md). Builds release binaries, then
# runs complete passkey sign-ins over HTTP against a real server on SQLite (both
# durability settings, unpinned and with the server on a core of its own), complete
# application sign-ins (OIDC code flow), then PostgreSQL with fsync on — one node, and two
# nodes behind HAProxy — on a throwaway server this script starts (Debian's postgresql and
# haproxy packages; scripts/test.sh installs both).
# `scripts/bench.sh ca` runs the Conditional Access evaluation benchmark instead,
# `scripts/bench.sh readiness` the readiness analysis, and `scripts/bench.sh inventory` the
# passkey inventory (SQLite, then PostgreSQL when BENCH_POSTGRES_URL names an empty database).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p portcullis -p portcullis-bench
if [ "${1:-}" = "ca" ]; then
  # Conditional Access evaluation: pure decisions, no server.
  exec ./target/release/ca-eval
fi
if [ "${1:-}" = "readiness" ]; then
  # The readiness analysis (R50) and a dry run (R51) over a generated tenant: in memory at
  # 10k, 100k and 1M users, then end to end on a SQLite store at 100k (reads included).
  ./target/release/readiness "${2:-10000,100000,1000000}"
  exec ./target/release/readiness-store "${3:-100000}"
fi
if [ "${1:-}" = "inventory" ]; then
  # The passkey inventory (R52): 1,000,000 passkeys over 300,000 users by default.
  ./target/release/inventory --users "${USERS:-300000}" --passkeys "${PASSKEYS:-1000000}" --graph-users "${GRAPH_USERS:-10000}"
  if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    ./target/release/inventory --users "${USERS:-300000}" --passkeys "${PASSKEYS:-1000000}" --graph-users "${GRAPH_USERS:-10000}" --postgres "$BENCH_POSTGRES_URL"
  fi
  exit 0
fi
B=./target/release/portcullis-bench
# 32 sign-ins in flight by default: a group commit takes what is waiting, so the rate depends
# on it; the first row is also measured with 16 in flight (this benchmark's default before
# 2026-12-01), to compare with older figures.
ARGS=(--users "${USERS:-200}" --concurrency "${CONCURRENCY:-32}" --seconds "${SECONDS_RUN:-20}")
echo "machine: $(nproc) cores, $(uname -sr)"
"$B" --users "${USERS:-200}" --concurrency 16 --seconds "${SECONDS_RUN:-20}" --sqlite-synchronous full | tail -n 3
"$B" "${ARGS[@]}" --sqlite-synchronous full | tail -n 1
"$B" "${ARGS[@]}" --sqlite-synchronous normal | tail -n 1
# The server alone: pinned to the last core, the load generator to the others (taskset, from
# util-linux), so the server's CPU per sign-in is not shared with the client's.
if [ "$(nproc)" -ge 2 ]; then
  command -v taskset >/dev/null || { echo "taskset (util-linux) is needed for the pinned runs" >&2; exit 1; }
  LAST=$(( $(nproc) - 1 ))
  taskset -c "0-$(( LAST - 1 ))" "$B" "${ARGS[@]}" --sqlite-synchronous full --server-cpu "$LAST" | tail -n 1
  taskset -c "0-$(( LAST - 1 ))" "$B" "${ARGS[@]}" --sqlite-synchronous normal --server-cpu "$LAST" | tail -n 1
fi
# The application sign-in: an OIDC authorization code flow around each passkey sign-in
# (authorize, the sign-in whose answer continues it and carries the code, the token request
# with PKCE, an ID token), for an application on OpenID Connect's default RS256 ID tokens
# and for one set to ES256.
for alg in RS256 ES256; do
  "$B" "${ARGS[@]}" --sqlite-synchronous full --flow oidc --id-token-alg "$alg" | tail -n 1
  if [ "$(nproc)" -ge 2 ]; then
    taskset -c "0-$(( LAST - 1 ))" "$B" "${ARGS[@]}" --sqlite-synchronous full --flow oidc --id-token-alg "$alg" --server-cpu "$LAST" | tail -n 1
  fi
done
# PostgreSQL as deployed: fsync and synchronous commit on (the server's defaults), on a
# fresh database for each run; the CPU per sign-in includes PostgreSQL's (and HAProxy's).
# shellcheck source=scripts/throwaway-postgres.sh
. scripts/throwaway-postgres.sh
start_throwaway_postgres
# Only this server's processes count (the postmaster and its children).
BENCH_POSTGRES_PID=$(head -n 1 "$PGTMP/data/postmaster.pid")
export BENCH_POSTGRES_PID
for nodes in 1 2; do
  _as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "bench_$nodes"
  "$B" "${ARGS[@]}" --database "${THROWAWAY_POSTGRES_URL%/*}/bench_$nodes" --nodes "$nodes" | tail -n 1
done
