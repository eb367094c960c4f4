-- The usage rows created in [from, to) that a recompute may read (the included
-- field: recompute::included), as u: a FROM item for aggregate.sql.
(SELECT * FROM @usage@ x WHERE x.created_at >= @from@ AND x.created_at < @to@ AND @included@) u
