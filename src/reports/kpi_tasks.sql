-- kpis' task_count: distinct tasks with any usage row on a local date in the range
-- (any provider, any model). Read from the raw rows.
SELECT count(DISTINCT u.task_id)
@report_usage_rows@
