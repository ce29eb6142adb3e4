#!/usr/bin/env bash
# The soak (not a CI test; RELIABILITY.md has its figures): release binaries, then a mixed load
# at a steady rate against a real server on SQLite for MINUTES (30), printing memory, database
# size, operations, errors and latency every minute, and writing them to soak.csv.
#
#   scripts/soak.sh [MINUTES] [RATE_PER_SECOND]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p portcullis -p portcullis-bench
exec ./target/release/soak --minutes "${1:-30}" --rate "${2:-100}"
