-- The raw usage rows verify() recomputes, as u: a FROM item for
-- recompute/aggregate.sql (from and to_end: health/mod.rs).
(SELECT * FROM @usage@ WHERE created_at >= @from@ AND created_at < @to_end@) u
