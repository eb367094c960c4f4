-- kpis' task_count: distinct tasks with any usage row on a local date in the range
-- (any provider, any model). Read from the raw rows, and before the frozen horizon
-- from the tasks freeze recorded (reports/frozen.rs, tasks).
SELECT count(DISTINCT x.task_id) FROM (
    SELECT u.task_id
    @report_usage_rows@
      AND u.created_at >= @frozen@
    @frozen_tasks@
) x
