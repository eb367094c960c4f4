#!/usr/bin/env bash
# Run one PGXS test runner against the running throwaway cluster.
#   tests/run_regress.sh regress|isolation|differential|standby [test names...]
# (standby tests connect to the primary and switch to the standby, UR_STANDBY_PORT,
# with \c; bin/test starts it)
source "$(dirname "$0")/../bin/lib.sh"
kind="$1"; shift || true
case "$kind" in
  regress)      runner="$PGXS_DIR/src/test/regress/pg_regress"; dir="$ROOT/tests/pg_regress"; ext=sql ;;
  differential) runner="$PGXS_DIR/src/test/regress/pg_regress"; dir="$ROOT/tests/differential"; ext=sql ;;
  standby)      runner="$PGXS_DIR/src/test/regress/pg_regress"; dir="$ROOT/tests/standby"; ext=sql ;;
  isolation)    runner="$PGXS_DIR/src/test/isolation/pg_isolation_regress"; dir="$ROOT/tests/isolation"; ext=spec ;;
  *) echo "usage: $0 regress|isolation|differential|standby [tests]" >&2; exit 2 ;;
esac
if (($# == 0)); then
  src="$dir/sql"; [ "$ext" = spec ] && src="$dir/specs"
  set -- $(cd "$src" && ls *."$ext" | sed "s/\.$ext\$//" | sort)
fi
out="$RUN_DIR/${UR_DB:-usage_rollup_test}/$kind"
psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${UR_DB:-usage_rollup_test}'" | grep -q 1 \
  || psql -X -q -d postgres -c "CREATE DATABASE \"${UR_DB:-usage_rollup_test}\""
rm -rf "$out"; mkdir -p "$out"; chmod 777 "$out"
# isolation specs are compiled by the runner from the spec dir
cd "$dir"
"$runner" --inputdir="$dir" --outputdir="$out" --use-existing --dbname="${UR_DB:-usage_rollup_test}" \
  --host="$PGHOST" --port="$PGPORT" --user=postgres "$@"
