# Shared by bin/setup, bin/demo and bin/test. Sourced, not run.
# Everything here is idempotent: a second run skips what is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/bin/pg_config}"
PG_BIN="$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
PGXS_DIR="/usr/lib/postgresql/15/lib/pgxs"
RUN_DIR="${UR_RUN_DIR:-/tmp/usage_rollup}"
PGDATA="$RUN_DIR/pgdata"
PGPORT="${UR_PGPORT:-54329}"
export PGHOST="$RUN_DIR" PGPORT PGUSER=postgres
# the streaming standby of the throwaway cluster (tests/standby/)
STANDBY_DATA="$RUN_DIR/standby"
export UR_STANDBY_PORT="${UR_STANDBY_PORT:-$((PGPORT + 1))}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_postgres() { sudo -u postgres -H -- "$@"; }

# pg_ctl for a test server. RUST_BACKTRACE=1 makes a Rust backtrace show in any
# error that would carry one (pgrx puts it in DETAIL), so the tests that assert
# errors never show Rust internals (SPEC §5) see what users with it set would see.
pg_ctl_test() { as_postgres env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" "$@"; }

# Debian packages, cargo-pgrx 0.18.0 and pgrx's config: only what is missing.
ensure_toolchain() {
  local pkgs=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-partman libclang-dev clang sudo)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  PG_BIN="$("$PG_CONFIG" --bindir)"
  # Debian starts a cluster on 5432 when it installs the server; we use our own.
  if ! cargo pgrx --version 2>/dev/null | grep -q "0.18.0"; then
    log "installing cargo-pgrx 0.18.0 (about 9 minutes, once)"
    cargo install cargo-pgrx --version 0.18.0 --locked
  fi
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null
  done
  if [ ! -f "$HOME/.pgrx/config.toml" ] || ! grep -q "pg15" "$HOME/.pgrx/config.toml"; then
    log "pointing pgrx at $PG_CONFIG"
    cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
  fi
}

# The checks that need no database, one "ok NAME" / "not ok NAME" line each (bin/test lint):
# the code as rustfmt.toml formats it, clippy without warnings, module references that
# point one way (bin/check_layers: base <- stores <- entry points), and the scripts of
# released versions in sql/ byte for byte as released (a released update script
# never changes: users' databases ran it; a fix is a new update step).
lint() {
  local rc=0
  mkdir -p "$RUN_DIR"
  if (cd "$ROOT" && cargo fmt --check >/dev/null 2>&1); then echo "ok fmt"; else
    (cd "$ROOT" && cargo fmt --check 2>&1 | head -40); echo "not ok fmt (run cargo fmt)"; rc=1; fi
  if (cd "$ROOT" && cargo clippy --features pg15 --no-deps -- -D warnings >"$RUN_DIR/clippy.log" 2>&1); then echo "ok clippy"; else
    grep -E -A8 '^(warning|error)' "$RUN_DIR/clippy.log" | head -60; echo "not ok clippy"; rc=1; fi
  if "$ROOT/bin/check_layers"; then :; else echo "not ok layers (bin/check_layers --graph shows the module graph)"; rc=1; fi
  if (cd "$ROOT/sql" && sha256sum --quiet -c released.sha256 2>&1); then echo "ok released scripts unchanged"; else
    echo "not ok released scripts unchanged (sql/released.sha256: write a new update script instead)"; rc=1; fi
  return $rc
}

# Build and install the extension into the server's directories (incremental).
install_extension() {
  log "building and installing usage_rollup"
  # UR_RELEASE=1: a release build (bench/run.sh numbers that go in docs)
  (cd "$ROOT" && cargo pgrx install --pg-config "$PG_CONFIG" --features pg15 ${UR_RELEASE:+--release} 2>&1 \
     | grep -vE '^\s*(Copying|Writing|Discovered|Installing)' || true)
  test -f "$("$PG_CONFIG" --sharedir)/extension/usage_rollup.control" || { echo "install failed" >&2; exit 1; }
  # cargo pgrx installs the upgrade scripts (sql/usage_rollup--A--B.sql); the
  # install scripts of earlier releases are for the upgrade test, which creates
  # the extension at an old version and updates it.
  local f
  for f in "$ROOT"/sql/usage_rollup--*.sql; do
    case "$(basename "$f")" in usage_rollup--*--*) ;; *) install -m 644 "$f" "$("$PG_CONFIG" --sharedir)/extension/" ;; esac
  done
}

# A throwaway cluster owned by postgres, with pg_cron preloaded. Restarted when
# asked (a new .so is only picked up by new backends, but pg_cron's and our
# background workers keep the old one until a restart).
start_cluster() {
  local dbname="$1"
  mkdir -p "$RUN_DIR"
  chown postgres:postgres "$RUN_DIR"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "creating a throwaway cluster in $PGDATA (port $PGPORT)"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<CONF
# usage_rollup throwaway cluster
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$RUN_DIR'
shared_preload_libraries = 'pg_cron'
cron.database_name = '$dbname'
cron.host = '$RUN_DIR'
max_worker_processes = 16
max_prepared_transactions = 4
timezone = 'UTC'
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
  fi
  if as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    if [ "${UR_RESTART:-1}" = 1 ]; then
      pg_ctl_test -D "$PGDATA" -w -m fast restart -l "$RUN_DIR/server.log" >/dev/null
    fi
  else
    pg_ctl_test -D "$PGDATA" -w start -l "$RUN_DIR/server.log" >/dev/null
  fi
  psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE \"$dbname\""
}

stop_cluster() {
  stop_standby
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -w -m fast stop >/dev/null 2>&1 || true
}

system_id() { as_postgres "$PG_BIN/pg_controldata" "$1" 2>/dev/null | sed -n 's/^Database system identifier: *//p'; }

# A hot standby of the running throwaway cluster, as users make a read replica:
# pg_basebackup -R (streaming replication), hot_standby on, port UR_STANDBY_PORT.
# Made again when missing, when it is a copy of another cluster, or when the one
# kept from an earlier run cannot stream any more (the primary has recycled the
# WAL it needs: the standby is stopped between runs and has no slot, so that a
# forgotten standby never fills the disk). Restarted, like the primary, so that
# its backends load the installed library.
start_standby() {
  if [ -f "$STANDBY_DATA/PG_VERSION" ] && [ "$(system_id "$STANDBY_DATA")" = "$(system_id "$PGDATA")" ]; then
    run_standby && standby_streaming 150 && return 0
    log "the standby kept from an earlier run does not stream (last lines of $RUN_DIR/standby.log below); making it again"
    tail -n 5 "$RUN_DIR/standby.log" >&2 || true
  fi
  stop_standby
  rm -rf "$STANDBY_DATA"
  log "creating a streaming standby of the throwaway cluster in $STANDBY_DATA (port $UR_STANDBY_PORT)"
  as_postgres "$PG_BIN/pg_basebackup" -D "$STANDBY_DATA" -R -X stream -c fast -h "$RUN_DIR" -p "$PGPORT" -U postgres
  # (postgresql.auto.conf, written by -R with primary_conninfo, wins over the copied postgresql.conf)
  cat >> "$STANDBY_DATA/postgresql.auto.conf" <<CONF
port = $UR_STANDBY_PORT
hot_standby = on
hot_standby_feedback = on
CONF
  run_standby && standby_streaming 300 && return 0
  echo "the standby on port $UR_STANDBY_PORT is not streaming from the primary; the last lines of $RUN_DIR/standby.log:" >&2
  tail -n 20 "$RUN_DIR/standby.log" >&2 || true
  exit 1
}

run_standby() {
  if as_postgres "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" status >/dev/null 2>&1; then
    pg_ctl_test -D "$STANDBY_DATA" -w -m fast restart -l "$RUN_DIR/standby.log" >/dev/null
  else
    pg_ctl_test -D "$STANDBY_DATA" -w start -l "$RUN_DIR/standby.log" >/dev/null
  fi
}

# true once the standby streams and has replayed everything the primary had
# written when asked (a receiver that connects and then finds its WAL gone shows
# "streaming" for a moment); waits up to $1 fifths of a second
standby_streaming() {
  local i lsn
  lsn="$(psql -X -q -d postgres -tAc "SELECT pg_current_wal_lsn()")"
  for i in $(seq 1 "$1"); do
    [ "$(psql -X -q -p "$UR_STANDBY_PORT" -d postgres -tAc "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$lsn' AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  return 1
}

stop_standby() {
  [ -f "$STANDBY_DATA/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" -w -m fast stop >/dev/null 2>&1 || true
}
