#!/usr/bin/env bash
# The whole Portcullis test suite, in one command.
#
# On Debian as root it first installs whatever is missing — PostgreSQL, Chromium and
# chromedriver, Python's venv module — then starts a throwaway PostgreSQL server for
# this run only, prepares the Python venv for client conformance tests, runs every
# Rust test (SQLite and PostgreSQL suites, real-browser tests), and stops PostgreSQL.
# Tests that need PostgreSQL or Chromium fail (never skip) when those are missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/throwaway-postgres.sh
. "$ROOT/scripts/throwaway-postgres.sh"

command -v cargo >/dev/null || die "cargo is not installed: install Rust (https://rustup.rs) first"

# 1. System packages.
missing=()
{ [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; } || missing+=(postgresql)
command -v chromium >/dev/null || [ -x "${CHROMIUM_BIN:-/nonexistent}" ] || missing+=(chromium)
command -v chromedriver >/dev/null || [ -x "${CHROMEDRIVER_BIN:-/nonexistent}" ] || missing+=(chromium-driver)
command -v python3 >/dev/null || missing+=(python3)
# curl: the HTTPS test's independent client, verifying the server against a test CA.
command -v curl >/dev/null || missing+=(curl)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# HAProxy: the load balancer in front of two nodes in the several-nodes test.
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# libfaketime: a test restarts the server days later without touching its clock or data (R55).
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || missing+=(faketime)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]}) or run this script as root"
  fi
fi

# 2. A throwaway PostgreSQL, for this run only. fsync is off: this server holds only test
# data and dies with the run.
start_throwaway_postgres -c fsync=off -c full_page_writes=off || die "PostgreSQL did not start"
export TEST_POSTGRES_URL="$THROWAWAY_POSTGRES_URL"

# 3. The Python venv for client conformance tests (pinned requirements).
REQ=tests/python/requirements.txt
if [ ! -x .venv/bin/python ] || ! cmp -s "$REQ" .venv/.requirements 2>/dev/null; then
  log "preparing the Python venv (.venv)"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" .venv/.requirements
fi
export PYTHON_VENV="$ROOT/.venv"

# 4. Dependency advisories, offline: the RustSec snapshot in audit/, and only the advisories
# reviewed in audit/ignored-advisories.toml (each with its reason) are let through.
if [ "$#" -eq 0 ]; then
  command -v cargo-audit >/dev/null || {
    log "installing cargo-audit"
    cargo install --locked --quiet cargo-audit
  }
  ignores=$(python3 - audit/ignored-advisories.toml <<'PY'
import sys, tomllib
doc = tomllib.load(open(sys.argv[1], "rb"))
for a in doc.get("advisory", []):
    if not a.get("id") or not str(a.get("reason", "")).strip():
        sys.exit(f"audit/ignored-advisories.toml: every entry needs an id and a reason: {a}")
    print(f"--ignore {a['id']}")
PY
) || die "the ignore file is malformed"
  log "auditing dependencies against the RustSec snapshot ($(sed -n 's/.*commit \([0-9a-f]\{12\}\).*/\1/p' audit/rustsec-advisory-db/SNAPSHOT.md))"
  # shellcheck disable=SC2086
  cargo audit --db audit/rustsec-advisory-db --no-fetch --deny warnings $ignores \
    || die "cargo audit found advisories not reviewed in audit/ignored-advisories.toml"
fi

# 5. Lints as policy: the tree is formatted, and clippy has nothing to say (the domain crate
# denies unchecked arithmetic, clippy::arithmetic_side_effects, outside its tests).
if [ "$#" -eq 0 ]; then
  log "checking formatting and lints"
  cargo fmt --all --check || die "the tree is not formatted: run cargo fmt --all"
  cargo clippy --workspace --all-targets --locked --quiet -- -D warnings || die "clippy found something"
fi

# 6. Everything: the Rust suites, then the client conformance suites (real SDKs) against
# the real binary.
log "running the test suite"
OUT="$PGTMP/test.log"
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$OUT" || status=$?
if [ "$#" -eq 0 ]; then
  log "running the client conformance suites (Microsoft Graph SDKs)"
  # `cargo test --workspace` has built the binary; building `-p portcullis` alone would
  # resolve features differently and recompile half the dependency tree.
  [ -x target/debug/portcullis ] || cargo build --locked -p portcullis 2>&1 | tail -n 1
  CONFORMANCE_BIN="$ROOT/target/debug/portcullis" .venv/bin/python -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee -a "$OUT" || status=$?
fi
# One closing line for the whole run, summed over every test binary and pytest.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     /^[0-9]+ (passed|failed)/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^skipped/) s += $i } }
     END { printf "portcullis: %d passed, %d failed, %d skipped\n", p, f, s }' "$OUT"
exit "$status"
