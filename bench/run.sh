#!/usr/bin/env bash
# Benchmark (SPEC §6): every measurement against a baseline measured in the same run,
# printed as a table with medians and ratios. Not a test; CI does not run it.
#   bench/run.sh                 3M usage rows, dense and sparse profiles
#   ROWS=1000000 PROFILES=dense bench/run.sh
#   PARTITIONED=1 bench/run.sh   the usage table partitioned by week (rows labelled dense/part, sparse/part)
#   UR_RELEASE=1 bench/run.sh    a release build of the extension (for numbers that go in docs)
# Uses the throwaway cluster of bin/lib.sh (database usage_rollup_bench) and writes
# EXPLAIN (ANALYZE, BUFFERS) of the hot paths to bench/results/.
source "$(dirname "$0")/../bin/lib.sh"
ROWS="${ROWS:-3000000}"
PROFILES="${PROFILES:-dense sparse}"
RUNS="${RUNS:-5}"
# the ticks and the insert overhead swing more than the reports: at least 7 of each
REPEATS=$(( RUNS > 7 ? RUNS : 7 ))
OUT="$ROOT/bench/results"
mkdir -p "$OUT"
ensure_toolchain
install_extension
UR_RESTART="${UR_RESTART:-0}" start_cluster usage_rollup_test
DB=usage_rollup_bench
q() { psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -tAc "SET usage_rollup.safety_lag = 0; $1" | tail -n 1; }
ms_now() { date +%s%3N; }
table=()
# Wait (up to 10 minutes) until no autovacuum worker runs: on two cores one takes
# half the machine, and the steps before a timed one leave it work (the rebuild's
# tables, the rows the kpis emulation writes and rolls back). Timed steps measure
# the extension, not what autovacuum happens to be doing beside it.
quiet() {
  for _ in $(seq 1 600); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && return
    sleep 1
  done
}
PARTITIONED="${PARTITIONED:-0}"
row() { local label="$1"; shift; [ "$PARTITIONED" = 1 ] && label="$label/part"
        table+=("$(printf '%-11s | %-58s | %12s | %12s | %9s' "$label" "$@")"); }

for profile in $PROFILES; do
  log "profile $profile: generating $ROWS usage rows"
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
  psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION usage_rollup;
\i $ROOT/tests/fixtures/reference_schema.sql
\i $ROOT/bench/generate.sql
\if $PARTITIONED
\set usage_partition_by 'RANGE (created_at)'
\set usage_keys 'PRIMARY KEY (id, created_at), UNIQUE (task_id, provider, model, created_at)'
\i $ROOT/tests/fixtures/partitioned_usage.sql
SELECT bench.weekly_partitions();
\endif
\i $ROOT/bench/bench.sql
SELECT bench.generate($ROWS, '$profile');
VACUUM ANALYZE;
SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue', agents => 'app.agent', issues => 'app.issue');
SQL
  rows=$(q "SELECT count(*) FROM app.task_usage")
  ws=$(q "SELECT md5('ws1')::uuid")

  # 1. rebuild vs the floor (a bare GROUP BY of the same aggregate, writing nothing)
  q "SELECT bench.floor_rows()" >/dev/null            # warm the cache
  t0=$(ms_now); q "SELECT bench.floor_rows()" >/dev/null; floor_ms=$(( $(ms_now) - t0 ))
  t0=$(ms_now); psql -X -q -d "$DB" -c "SET client_min_messages = warning" -c "CALL usage_rollup.backfill(slice => '30 days')" >/dev/null
  rebuild_ms=$(( $(ms_now) - t0 ))
  rollup_rows=$(q "SELECT count(*) FROM usage_rollup.rollup")
  per_key=$(q "SELECT round(sum(event_count)::numeric / count(*), 1) FROM usage_rollup.rollup WHERE workspace_id = '$ws'")
  row "$profile" "rebuild: usage rows/s (floor: bare GROUP BY, no writes)" "$(( rows * 1000 / rebuild_ms ))" "$(( rows * 1000 / floor_ms ))" "$(awk "BEGIN{printf \"%.2fx\", $rebuild_ms/$floor_ms}")"
  # the least a rebuild of this rollup can write (its rows and its unique key, no
  # other index, nothing derived): how much of the ratio above any design keeps
  sql=$(q "SELECT bench.floor_write_sql()")
  t0=$(ms_now); q "$sql" >/dev/null; write_ms=$(( $(ms_now) - t0 ))
  row "$profile" "the floor's rows written, unique key built: usage rows/s" "$(( rows * 1000 / write_ms ))" "$(( rows * 1000 / floor_ms ))" "$(awk "BEGIN{printf \"%.2fx\", $write_ms/$floor_ms}")"
  row "$profile" "rollup rows / usage rows per key (largest workspace)" "$rollup_rows" "$rows" "$per_key"
  # the run rollup is built by attach(); timed again here (it rebuilds from scratch)
  tasks=$(q "SELECT count(*) FROM app.agent_task_queue")
  t0=$(ms_now); q "SELECT usage_rollup._attach_task_runs()" >/dev/null; build_ms=$(( $(ms_now) - t0 ))
  row "$profile" "run rollup build (attach): tasks/s, run rollup rows" "$(( tasks * 1000 / (build_ms > 0 ? build_ms : 1) ))" "$tasks" "$(q "SELECT count(*) FROM usage_rollup.task_rollup")"
  # steady state: autovacuum would have marked the new rollup pages all-visible
  # (index-only reads of the per-workspace rows); not part of the rebuild's time
  psql -X -q -d "$DB" -c "VACUUM ANALYZE usage_rollup.rollup" -c "VACUUM ANALYZE usage_rollup.rollup_ws" \
    -c "VACUUM ANALYZE usage_rollup.task_rollup" -c "VACUUM ANALYZE usage_rollup.key_rollup" \
    -c "VACUUM ANALYZE usage_rollup.key_task" >/dev/null

  # 2. reports over 90 local days of the largest workspace vs the same report from raw rows
  quiet
  for spec in "daily_usage:day:Asia/Kolkata" "daily_usage:day:UTC" "usage_by_agent:agent:Asia/Kolkata" \
              "usage_by_project:project:UTC" "usage_by_runtime:runtime:UTC" "usage_summary:none:Asia/Kathmandu" \
              "usage_by_hour:hour:Pacific/Chatham"; do
    IFS=: read -r fn grouping zone <<<"$spec"
    args="'$ws'::uuid, current_date - 89, current_date, '$zone'"
    ext=$(q "SELECT bench.median_ms(\$q\$SELECT count(*) FROM usage_rollup.$fn(workspace_id => '$ws', from_date => current_date - 89, to_date => current_date, tz => '$zone')\$q\$, $RUNS)")
    raw=$(q "SELECT bench.median_ms(format(\$q\$SELECT count(*) FROM (%s) x\$q\$, replace(replace(replace(replace(replace(replace(replace(replace(replace(usage_rollup._usage_report_sql('$grouping', true), '\$1', quote_literal('$ws') || '::uuid'), '\$2', '(current_date - 89)'), '\$3', 'current_date'), '\$4', quote_literal('$zone')), '\$5', 'NULL'), '\$6', 'NULL'), '\$7', 'NULL'), '\$8', '(current_date - 91)::timestamptz'), '\$9', '(current_date + 2)::timestamptz')), $RUNS)")
    row "$profile" "$fn 90 days, $zone: ms (raw §4.1 query)" "$ext" "$raw" "$(awk "BEGIN{printf \"%.1fx\", $raw/($ext>0?$ext:0.01)}")"
  done
  # the run, outcome and start reports and kpis vs the same report computed from the
  # raw tables by the extension's own raw path (read mode 'raw': the §4.1 queries)
  for spec in "daily_runs:runs:day" "runs_by_agent:runs:agent" "daily_outcomes:outcomes:day" \
              "outcomes_by_agent:outcomes:agent" "starts_by_hour:starts:none" "kpis::"; do
    IFS=: read -r fn kind grouping <<<"$spec"
    zone=Asia/Kolkata
    ext=$(q "SELECT bench.median_ms(\$q\$SELECT count(*) FROM usage_rollup.$fn(workspace_id => '$ws', from_date => current_date - 89, to_date => current_date, tz => '$zone')\$q\$, $RUNS)")
    if [ "$fn" = kpis ]; then
      raw_call="usage_rollup._kpis('$ws', current_date - 89, current_date, '$zone', NULL, NULL, NULL, NULL, 'raw')"
    else
      raw_call="usage_rollup._task_report('$fn', '$kind', '$grouping', '$ws', current_date - 89, current_date, '$zone', NULL, NULL, NULL, NULL, 'raw')"
    fi
    raw=$(q "SELECT bench.median_ms(\$q\$SELECT count(*) FROM $raw_call\$q\$, $RUNS)")
    row "$profile" "$fn 90 days, $zone: ms (raw §4.1 query)" "$ext" "$raw" "$(awk "BEGIN{printf \"%.1fx\", $raw/($ext>0?$ext:0.01)}")"
  done
  # kpis late in a UTC day (emulated: the previous day stands for a current day of
  # 23:55 hours) against the same raw baseline as kpis above: with its finished
  # hours sealed, as the ticks leave it, and read raw, as 0.7.0 did
  read -r late_raw late_hours <<<"$(q "SELECT bench.kpis_late_ms('$ws', 'Asia/Kolkata', $RUNS)")"
  row "$profile" "kpis late in a UTC day (emulated): ms (raw §4.1 query)" "$late_hours" "$raw" "$(awk "BEGIN{printf \"%.1fx\", $raw/($late_hours>0?$late_hours:0.01)}")"
  row "$profile" "the same, current day read raw (as 0.7.0): ms" "$late_raw" "$raw" "$(awk "BEGIN{printf \"%.1fx\", $raw/($late_raw>0?$late_raw:0.01)}")"

  # 3. steady-state tick after 300 new rows (SPEC §6): usage arrives for the tasks
  # that are running, so the new rows belong to the 300 latest tasks (a new model
  # each time: the table holds one row per task, provider and model). Then the
  # worst case: 300 rows of random tasks from all 90 days, every one a cell no tick
  # touched lately (cold index pages of 300 random agents: with 128MB of
  # shared_buffers, several times the cost). 4. freshness, on the steady state.
  daily="\$q\$SELECT count(*) FROM usage_rollup.daily_usage(workspace_id => '$ws', from_date => current_date - 89, to_date => current_date, tz => 'Asia/Kolkata')\$q\$"
  q "SELECT usage_rollup.tick()" >/dev/null
  quiet
  tick_after() {  # $1: label, $2: a SELECT of (task_id, provider, model) for 300 new rows, @i@: the run
    : > "$OUT/tick_db.$profile"; : > "$OUT/fresh.$profile"
    for i in $(seq 1 "$REPEATS"); do
      q "INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
         SELECT task_id, provider, model, 42, now() FROM (${2//@i@/$i}) n" >/dev/null
      fresh=$(q "SELECT bench.median_ms($daily, 1)")
      q "SELECT usage_rollup.tick()" >/dev/null
      q "SELECT round(last_duration_ms::numeric, 1) FROM usage_rollup.status" >> "$OUT/tick_db.$profile"
      echo "$fresh $(q "SELECT bench.median_ms($daily, 1)")" >> "$OUT/fresh.$profile"
    done
    read -r median max <<<"$(sort -n "$OUT/tick_db.$profile" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)], a[NR]}')"
    row "$profile" "tick after 300 new rows $1: in-db ms median (max)" "$median ($max)" "$REPEATS" "$(awk "BEGIN{print ($median < 50) ? \"<50 ok\" : \">=50\"}")"
  }
  tick_after "of the latest tasks" "SELECT id AS task_id, 'openai' AS provider, 'fresh-@i@' AS model FROM app.agent_task_queue ORDER BY created_at DESC LIMIT 300"
  read -r fresh ticked <<<"$(sort -n "$OUT/fresh.$profile" | awk '{f[NR]=$1; t[NR]=$2} END{print f[int((NR+1)/2)], t[int((NR+1)/2)]}')"
  row "$profile" "daily_usage after 300 new rows, no tick vs after tick: ms" "$fresh" "$ticked" "$(awk "BEGIN{printf \"%.2fx\", $fresh/($ticked>0?$ticked:0.01)}")"
  tick_after "of random tasks (worst case)" "SELECT id AS task_id, 'openai' AS provider, 'cold-@i@' AS model FROM app.agent_task_queue ORDER BY id OFFSET 100000 + 300 * @i@ LIMIT 300"
  rm -f "$OUT/tick_db.$profile" "$OUT/fresh.$profile"
  # the same with the run rollup's share: 300 tasks of the large workspace start
  # and finish (its queue), and 300 usage rows arrive for tasks that are running
  for i in $(seq 1 "$RUNS"); do
    q "INSERT INTO app.agent_task_queue (id, agent_id, status, created_at, started_at)
       SELECT md5('bench-run-$i-' || n)::uuid, a.id, 'running', now(), now() - interval '3 minutes'
       FROM generate_series(1, 300) n
       CROSS JOIN LATERAL (SELECT id FROM app.agent WHERE workspace_id = '$ws' ORDER BY id OFFSET n % 2 LIMIT 1) a" >/dev/null
    q "UPDATE app.agent_task_queue SET status = 'completed', completed_at = now()
       WHERE id IN (SELECT md5('bench-run-$i-' || n)::uuid FROM generate_series(1, 300) n)" >/dev/null
    q "INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
       SELECT md5('bench-run-$i-' || n)::uuid, 'openai', 'run-$i', 42, now() FROM generate_series(1, 300) n" >/dev/null
    q "SELECT usage_rollup.tick()" >/dev/null
    q "SELECT round(last_duration_ms::numeric, 1) FROM usage_rollup.status" >> "$OUT/tick_tasks_db.$profile"
  done
  duration=$(sort -n "$OUT/tick_tasks_db.$profile" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  row "$profile" "tick after 300 finished tasks and their 300 usage rows: ms" "-" "$duration" "$(awk "BEGIN{print ($duration < 50) ? \"<50 ok\" : \">=50\"}")"
  rm -f "$OUT/tick_tasks_db.$profile"
  for i in $(seq 1 "$RUNS"); do
    q "INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
       SELECT id, 'openai', 'bench-$i', 42, now() FROM app.agent_task_queue ORDER BY id OFFSET $((i * 300)) LIMIT 300" >/dev/null
    q "UPDATE app.task_usage SET input_tokens = input_tokens + 1, updated_at = now()
       WHERE id IN (SELECT id FROM app.task_usage WHERE created_at < now() - interval '1 day' ORDER BY id OFFSET $((i * 100)) LIMIT 100)" >/dev/null
    fresh=$(q "SELECT bench.median_ms(\$q\$SELECT count(*) FROM usage_rollup.daily_usage(workspace_id => '$ws', from_date => current_date - 89, to_date => current_date, tz => 'Asia/Kolkata')\$q\$, 1)")
    t0=$(ms_now); q "SELECT usage_rollup.tick()" >/dev/null; echo $(( $(ms_now) - t0 )) >> "$OUT/tick_ms.$profile"
    ticked=$(q "SELECT bench.median_ms(\$q\$SELECT count(*) FROM usage_rollup.daily_usage(workspace_id => '$ws', from_date => current_date - 89, to_date => current_date, tz => 'Asia/Kolkata')\$q\$, 1)")
    echo "$fresh $ticked" >> "$OUT/fresh_ms.$profile"
  done
  tick_ms=$(sort -n "$OUT/tick_ms.$profile" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  duration=$(q "SELECT round(last_duration_ms::numeric, 1) FROM usage_rollup.status")
  row "$profile" "tick after 300 new + 100 corrected rows: ms (in-db duration)" "$tick_ms" "$duration" "-"
  read -r fresh ticked <<<"$(sort -n "$OUT/fresh_ms.$profile" | awk '{f[NR]=$1; t[NR]=$2} END{print f[int((NR+1)/2)], t[int((NR+1)/2)]}')"
  row "$profile" "daily_usage after 300 new + 100 corrected, no tick vs tick: ms" "$fresh" "$ticked" "$(awk "BEGIN{printf \"%.2fx\", $fresh/($ticked>0?$ticked:0.01)}")"
  rm -f "$OUT/tick_ms.$profile" "$OUT/fresh_ms.$profile"

  # the keyed blocks' and task days' share: the corrections above took their days
  # (and weeks) off the lists; each tick seals one keyed block again (a day, else a
  # week, else four weeks) and one task day. Tick until none is left, recording
  # what each sealed and its in-db duration.
  : > "$OUT/seal_ms.$profile"
  for i in $(seq 1 300); do
    read -r kb tb <<<"$(q "SELECT (SELECT count(*) FROM usage_rollup.key_rollup_block), (SELECT count(*) FROM usage_rollup.key_task_block)" | tr '|' ' ')"
    q "SELECT usage_rollup.tick()" >/dev/null
    read -r kb2 tb2 <<<"$(q "SELECT (SELECT count(*) FROM usage_rollup.key_rollup_block), (SELECT count(*) FROM usage_rollup.key_task_block)" | tr '|' ' ')"
    [ "$kb2" -gt "$kb" ] || [ "$tb2" -gt "$tb" ] || break
    width=0; [ "$kb2" -gt "$kb" ] && width=$(q "SELECT width FROM usage_rollup.key_rollup_block ORDER BY sealed_at DESC LIMIT 1")
    tasks=0; [ "$tb2" -gt "$tb" ] && tasks=1
    echo "$width $tasks $(q "SELECT round(last_duration_ms::numeric, 1) FROM usage_rollup.status")" >> "$OUT/seal_ms.$profile"
  done
  for kind in "1440 1" "1440 0" "0 1" "10080 0" "40320 0"; do
    read -r width tasks <<<"$kind"
    read -r n median max <<<"$(awk -v w=$width -v t=$tasks '$1 == w && $2 == t {print $3}' "$OUT/seal_ms.$profile" | sort -n | awk '{a[NR]=$1} END{if (NR) print NR, a[int((NR+1)/2)], a[NR]; else print 0, "-", "-"}')"
    [ "$n" -gt 0 ] || continue
    case "$width $tasks" in
      "1440 1") what="a day of keyed blocks and a task day";; "1440 0") what="a day of keyed blocks";;
      "0 1") what="a task day";; "10080 0") what="a week of keyed blocks";; *) what="four weeks of keyed blocks";;
    esac
    row "$profile" "tick that seals $what: ms median (max), n" "$median ($max)" "$n" "-"
  done
  rm -f "$OUT/seal_ms.$profile"

  # 4b. scattered corrections (SPEC §6, issue 23): 100 usage rows from all 90 days
  # corrected (amounts only), then one tick; then a billing reconciliation of 10,000
  # such rows, ticked until the queue is empty, and until every keyed block and task
  # day the corrections unsealed is sealed again; the daily report right after
  # (against its raw baseline above)
  quiet
  correct() {  # $1: rows, $2: offset
    q "UPDATE app.task_usage SET input_tokens = input_tokens + 1, updated_at = now()
       WHERE id IN (SELECT id FROM app.task_usage WHERE created_at < now() - interval '1 day'
                    ORDER BY md5(id::text || '$2') LIMIT $1)" >/dev/null
  }
  # the finished blocks still to seal (the current day, week and four weeks never are)
  sealed_all() {
    q "SELECT (SELECT count(*) FROM usage_rollup.key_rollup_stale WHERE bucket_start + width * interval '1 minute' <= now())
            + (SELECT count(*) FROM usage_rollup.key_task_stale WHERE bucket_start + interval '1 day' <= now())"
  }
  : > "$OUT/corr_ms.$profile"
  for i in $(seq 1 "$REPEATS"); do
    correct 100 "c$i"
    t0=$(ms_now); q "SELECT usage_rollup.tick()" >/dev/null; wall=$(( $(ms_now) - t0 ))
    echo "$(q "SELECT round(last_duration_ms::numeric, 1) FROM usage_rollup.status") $wall" >> "$OUT/corr_ms.$profile"
    for _ in $(seq 1 200); do [ "$(sealed_all)" = 0 ] && break; q "SELECT usage_rollup.tick()" >/dev/null; done
  done
  read -r median max <<<"$(sort -n "$OUT/corr_ms.$profile" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)], a[NR]}')"
  row "$profile" "tick after 100 scattered corrections: in-db ms median (max)" "$median ($max)" "$REPEATS" "$(awk "BEGIN{print ($median < 50) ? \"<50 ok\" : \">=50\"}")"
  rm -f "$OUT/corr_ms.$profile"
  # where such a tick's time goes: every statement it runs, with its plan, time and
  # buffers (auto_explain as NOTICEs), into bench/results/
  correct 100 "explained"
  psql -X -q -d "$DB" -c "SET usage_rollup.safety_lag = 0" -c "LOAD 'auto_explain'" \
    -c "SET auto_explain.log_min_duration = 0" -c "SET auto_explain.log_nested_statements = on" \
    -c "SET auto_explain.log_analyze = on" -c "SET auto_explain.log_buffers = on" \
    -c "SET auto_explain.log_level = notice" -c "SELECT usage_rollup.tick()" \
    > /dev/null 2> "$OUT/explain_tick_100_corrections_$profile.txt"
  for _ in $(seq 1 200); do [ "$(sealed_all)" = 0 ] && break; q "SELECT usage_rollup.tick()" >/dev/null; done
  quiet
  correct 10000 "reconcile"
  ticks=0; total=0
  # (at least one tick: the corrected rows are also found through the watermark;
  # then until nothing waits in either queue, buckets or corrections)
  while [ $ticks = 0 ] || { [ "$(q "SELECT queue_depth FROM usage_rollup.status")" != 0 ] && [ $ticks -lt 1000 ]; }; do
    q "SELECT usage_rollup.tick()" >/dev/null; ticks=$((ticks + 1))
    total=$(awk "BEGIN{print $total + $(q "SELECT last_duration_ms FROM usage_rollup.status")}")
  done
  row "$profile" "ticks after 10,000 scattered corrections, queue empty: in-db ms" "$(printf '%.0f' "$total")" "$ticks ticks" "$(awk "BEGIN{print ($total < 5000) ? \"<5000 ok\" : \">=5000\"}")"
  seal_ticks=0; seal_total=0
  while [ "$(sealed_all)" != 0 ] && [ $seal_ticks -lt 2000 ]; do
    q "SELECT usage_rollup.tick()" >/dev/null; seal_ticks=$((seal_ticks + 1))
    seal_total=$(awk "BEGIN{print $seal_total + $(q "SELECT last_duration_ms FROM usage_rollup.status")}")
  done
  row "$profile" "then ticks until every block is sealed again: in-db ms" "$(printf '%.0f' "$seal_total")" "$seal_ticks ticks" "-"
  ext=$(q "SELECT bench.median_ms($daily, $RUNS)")
  raw=$(q "SELECT bench.median_ms(format(\$q\$SELECT count(*) FROM (%s) x\$q\$, replace(replace(replace(replace(replace(replace(replace(replace(replace(usage_rollup._usage_report_sql('day', true), '\$1', quote_literal('$ws') || '::uuid'), '\$2', '(current_date - 89)'), '\$3', 'current_date'), '\$4', quote_literal('Asia/Kolkata')), '\$5', 'NULL'), '\$6', 'NULL'), '\$7', 'NULL'), '\$8', '(current_date - 91)::timestamptz'), '\$9', '(current_date + 2)::timestamptz')), $RUNS)")
  row "$profile" "daily_usage 90 days, Kolkata, after the reconciliation: ms (raw)" "$ext" "$raw" "$(awk "BEGIN{printf \"%.1fx\", $raw/($ext>0?$ext:0.01)}")"

  # 5. write overhead of the triggers: attached vs the same statement with them disabled
  quiet
  ins="INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
       SELECT id, 'openai', 'overhead', 1, now() FROM app.agent_task_queue ORDER BY id LIMIT 100000"
  del="DELETE FROM app.task_usage WHERE model = 'overhead'"
  on=(); off=()
  for i in $(seq 1 "$REPEATS"); do  # alternating: the cache and WAL state drift
    t0=$(ms_now); q "$ins" >/dev/null; on+=($(( $(ms_now) - t0 ))); q "ALTER TABLE app.task_usage DISABLE TRIGGER USER; $del; ALTER TABLE app.task_usage ENABLE TRIGGER USER" >/dev/null
    q "ALTER TABLE app.task_usage DISABLE TRIGGER USER" >/dev/null
    t0=$(ms_now); q "$ins" >/dev/null; off+=($(( $(ms_now) - t0 ))); q "$del; ALTER TABLE app.task_usage ENABLE TRIGGER USER" >/dev/null
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  a=$(med "${on[@]}"); b=$(med "${off[@]}")
  row "$profile" "insert 100k usage rows: ms attached (triggers disabled)" "$a" "$b" "$(awk "BEGIN{printf \"%+.1f%%\", ($a-$b)*100/$b}")"
  upd="UPDATE app.agent_task_queue SET runtime_id = NULL WHERE id IN (SELECT id FROM app.agent_task_queue WHERE runtime_id IS NOT NULL ORDER BY id LIMIT 2000)"
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; $upd; ROLLBACK" >/dev/null; a=$(( $(ms_now) - t0 ))
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; ALTER TABLE app.agent_task_queue DISABLE TRIGGER USER; $upd; ROLLBACK" >/dev/null; b=$(( $(ms_now) - t0 ))
  row "$profile" "unbind the runtime of 2000 tasks: ms attached (triggers off)" "$a" "$b" "$(awk "BEGIN{printf \"%+.0f%%\", ($a-$b)*100/($b>0?$b:1)}")"
  upd="UPDATE app.agent_task_queue SET status = 'failed', failure_reason = 'bench' WHERE id IN (SELECT id FROM app.agent_task_queue WHERE status = 'completed' ORDER BY id LIMIT 2000)"
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; $upd; ROLLBACK" >/dev/null; a=$(( $(ms_now) - t0 ))
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; ALTER TABLE app.agent_task_queue DISABLE TRIGGER USER; $upd; ROLLBACK" >/dev/null; b=$(( $(ms_now) - t0 ))
  row "$profile" "finish (fail) 2000 tasks: ms attached (triggers off)" "$a" "$b" "$(awk "BEGIN{printf \"%+.0f%%\", ($a-$b)*100/($b>0?$b:1)}")"
  upd="UPDATE app.task_usage SET output_tokens = output_tokens + 1, updated_at = now() WHERE id IN (SELECT id FROM app.task_usage ORDER BY id LIMIT 2000)"
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; $upd; ROLLBACK" >/dev/null; a=$(( $(ms_now) - t0 ))
  t0=$(ms_now); psql -X -q -d "$DB" -c "BEGIN; ALTER TABLE app.task_usage DISABLE TRIGGER USER; $upd; ROLLBACK" >/dev/null; b=$(( $(ms_now) - t0 ))
  row "$profile" "correct 2000 usage rows: ms attached (triggers off)" "$a" "$b" "$(awk "BEGIN{printf \"%+.0f%%\", ($a-$b)*100/($b>0?$b:1)}")"

  # EXPLAIN of the hot paths: the unfiltered daily (Kolkata) and hour-of-day
  # (Chatham) reports, the daily report with an agent filter (the full rollup) and
  # the per-agent report (the keyed blocks),
  # after a tick (the overhead runs above queued buckets) and a VACUUM (their deleted
  # 600k rows lie in the current bucket, which reads raw newer rows), each run twice
  # (the second is the one to read: the first pays for catalog and buffer warm-up)
  q "SELECT usage_rollup.tick()" >/dev/null
  psql -X -q -d "$DB" -c "VACUUM ANALYZE usage_rollup.rollup_ws" -c "VACUUM ANALYZE app.task_usage" >/dev/null
  for spec in "day:Asia/Kolkata:true:daily_usage" "hour:Pacific/Chatham:true:usage_by_hour" "day:Asia/Kolkata:false:daily_usage_agent" \
              "agent:Asia/Kolkata:true:usage_by_agent"; do
    IFS=: read -r grouping zone unfiltered name <<<"$spec"
    agent=NULL
    [ "$unfiltered" = true ] || agent="'$(q "SELECT agent_id FROM usage_rollup.rollup WHERE workspace_id = '$ws' AND agent_id IS NOT NULL LIMIT 1")'"
    psql -X -q -d "$DB" > "$OUT/explain_${name}_$profile.txt" <<SQL
SET jit = off;
SELECT usage_rollup._usage_query_sql('$grouping', false, $unfiltered) AS q \gset
PREPARE r(uuid, date, date, text, uuid, uuid, uuid, timestamptz, timestamptz) AS :q;
SELECT range_start AS rs, range_end AS re FROM usage_rollup._report_window('daily_usage', '$ws', current_date - 89, current_date, '$zone', NULL) \gset
EXPLAIN (ANALYZE, BUFFERS) EXECUTE r('$ws', current_date - 89, current_date, '$zone', NULL, NULL, $agent, :'rs', :'re');
EXPLAIN (ANALYZE, BUFFERS) EXECUTE r('$ws', current_date - 89, current_date, '$zone', NULL, NULL, $agent, :'rs', :'re');
SQL
  done
  # (and kpis' distinct task count: the sealed task days and hours, the rest raw)
  for spec in "runs:day:daily_runs" "outcomes:agent:outcomes_by_agent" "starts:none:starts_by_hour" "kpi_tasks:none:kpis"; do
    IFS=: read -r kind grouping name <<<"$spec"
    psql -X -q -d "$DB" > "$OUT/explain_${name}_$profile.txt" <<SQL
SET jit = off;
SELECT usage_rollup._task_query_sql('$kind', '$grouping', true) AS q \gset
PREPARE r(uuid, date, date, text, uuid, uuid, uuid, timestamptz, timestamptz) AS :q;
SELECT range_start AS rs, range_end AS re FROM usage_rollup._report_window('$name', '$ws', current_date - 89, current_date, 'Asia/Kolkata', NULL) \gset
EXPLAIN (ANALYZE, BUFFERS) EXECUTE r('$ws', current_date - 89, current_date, 'Asia/Kolkata', NULL, NULL, NULL, :'rs', :'re');
EXPLAIN (ANALYZE, BUFFERS) EXECUTE r('$ws', current_date - 89, current_date, 'Asia/Kolkata', NULL, NULL, NULL, :'rs', :'re');
SQL
  done
done

echo
echo "usage_rollup benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(psql -X -d postgres -tAc 'SHOW server_version' | cut -d' ' -f1), $ROWS usage rows"
printf '%-11s | %-58s | %12s | %12s | %9s\n' profile measurement extension baseline ratio
printf '%.0s-' {1..110}; echo
printf '%s\n' "${table[@]}"
