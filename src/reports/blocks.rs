//! The tiling of a report's UTC range by rows of the per-workspace rollup
//! (usage_rollup.rollup_ws: 15-minute, hourly, six-hour and daily UTC rows). A
//! report sums, per group (local date or local hour), the rows of the largest
//! blocks that lie inside the group and hold no dirty bucket (read raw instead):
//! a UTC day is one row per provider and model, a Kolkata day twelve, where
//! reading hourly rows took 30 (SPEC §6: the sparse profile's 90-day report
//! read ~26k rows).

use crate::binding::{bucket_edge, timestamp};
use pgrx::prelude::*;

const MINUTE: i64 = 60 * 1_000_000;
/// Block widths in minutes, largest first; each is a whole number of the next, and
/// blocks are aligned at 2000-01-01 00:00 UTC (PostgreSQL's epoch, date_bin's origin).
const WIDTHS: &[i64] = &[1440, 360, 60, 15];
/// The run rollup's (usage_rollup.task_rollup) add a week; its per-agent rows have
/// no hourly or six-hour widths (runs/mod.rs, WIDTHS).
const TASK_WIDTHS: &[i64] = &[10080, 1440, 360, 60, 15];
const TASK_AGENT_WIDTHS: &[i64] = &[10080, 1440, 15];
/// The keyed blocks' (usage_rollup.key_rollup: four weeks, weeks, days, each usable
/// only where sealed) over the rollup's 15-minute rows; the task days and hours
/// (usage_rollup.key_task, key_task_hour) use the same tiling.
const KEY_WIDTHS: &[i64] = &[40320, 10080, 1440, 60, 15];

/// The blocks that tile [range_start, range_end) without crossing an edge (an
/// instant where a new group starts) and without a dirty 15-minute bucket (left
/// out), each with the start of its group (the edge before it, or range_start), so
/// that a report can sum a group's blocks before it looks at local time once per
/// group. Every bound, edge and dirty bucket is a 15-minute bucket edge.
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _ws_blocks(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    (name!(width, i16), name!(bucket_start, TimestampWithTimeZone), name!(group_start, TimestampWithTimeZone)),
> {
    blocks(WIDTHS, range_start, range_end, edges, dirty)
}

/// The same tiling as runs: each run a maximal sequence of consecutive blocks of
/// one width in one group, which a report reads with one index range scan (a
/// Kolkata day is four runs of twelve blocks). Found here rather than in SQL, where
/// a window, a sort and a grouping over the blocks cost ~1.5 ms of a 90-day daily
/// report (SPEC §6).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _ws_runs(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    (
        name!(width, i16),
        name!(group_start, TimestampWithTimeZone),
        name!(run_start, TimestampWithTimeZone),
        name!(run_end, TimestampWithTimeZone),
    ),
> {
    let (start, end, edges, dirty) = instants(range_start, range_end, edges, dirty);
    let runs = runs(&tile(WIDTHS, start, end, edges, dirty, None));
    TableIterator::new(runs.into_iter().map(|(width, group, from, to)| (width as i16, ts(group), ts(from), ts(to))))
}

// The planner's guess for a set-returning function is 1000 rows, and with 178 per
// run (its estimate of a large workspace's range scan) it sorted a sparse 90-day
// Kolkata report's 13k cells to group them instead of hashing them (+8 ms). Such a
// report has 368 runs (four per local day); a UTC one 92.
pgrx::extension_sql!(
    "ALTER FUNCTION usage_rollup._ws_runs(timestamptz, timestamptz, timestamptz[], timestamptz[]) ROWS 400;",
    name = "ws_runs_rows",
    requires = [_ws_runs]
);

/// Consecutive blocks of one width in one group as runs (width, group start, run
/// start, run end); blocks come in time order.
fn runs(blocks: &[(i64, i64, i64)]) -> Vec<(i64, i64, i64, i64)> {
    let mut runs: Vec<(i64, i64, i64, i64)> = Vec::new();
    for &(width, t, group) in blocks {
        match runs.last_mut() {
            Some((w, g, _, end)) if *w == width && *g == group && *end == t => *end = t + width * MINUTE,
            _ => runs.push((width, group, t, t + width * MINUTE)),
        }
    }
    runs
}

/// The same tiling of the run rollup's rows (weeks, days, ... 15 minutes).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_blocks(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    (name!(width, i16), name!(bucket_start, TimestampWithTimeZone), name!(group_start, TimestampWithTimeZone)),
> {
    blocks(TASK_WIDTHS, range_start, range_end, edges, dirty)
}

/// The same tiling of the run rollup's per-agent rows (weeks, days, 15 minutes).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_agent_blocks(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    (name!(width, i16), name!(bucket_start, TimestampWithTimeZone), name!(group_start, TimestampWithTimeZone)),
> {
    blocks(TASK_AGENT_WIDTHS, range_start, range_end, edges, dirty)
}

/// The same tiling by sealed keyed blocks (`sealed_widths[i]`, `sealed_starts[i]`:
/// the sealed blocks near the range) and the rollup's 15-minute rows elsewhere.
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _key_blocks(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
    sealed_widths: Option<Vec<i32>>,
    sealed_starts: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    // (integer: four weeks, 40320 minutes, is past smallint)
    (name!(width, i32), name!(bucket_start, TimestampWithTimeZone), name!(group_start, TimestampWithTimeZone)),
> {
    let sealed: Sealed = sealed_widths
        .unwrap_or_default()
        .into_iter()
        .zip(sealed_starts.unwrap_or_default())
        .map(|(w, t)| (w as i64, t.into_inner()))
        .collect();
    let blocks = tiled(KEY_WIDTHS, range_start, range_end, edges, dirty, Some(&sealed));
    TableIterator::new(blocks.into_iter().map(|(width, t, group)| (width as i32, t, group)))
}

/// Blocks (width, start) that may be used above 15 minutes; None: all of them.
type Sealed = std::collections::HashSet<(i64, i64)>;

fn blocks(
    widths: &'static [i64],
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> TableIterator<
    'static,
    (name!(width, i16), name!(bucket_start, TimestampWithTimeZone), name!(group_start, TimestampWithTimeZone)),
> {
    let blocks = tiled(widths, range_start, range_end, edges, dirty, None);
    TableIterator::new(blocks.into_iter().map(|(width, t, group)| (width as i16, t, group)))
}

/// The blocks as (width in minutes, start, group start).
fn tiled(
    widths: &'static [i64],
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
    sealed: Option<&Sealed>,
) -> Vec<(i64, TimestampWithTimeZone, TimestampWithTimeZone)> {
    let (start, end, edges, dirty) = instants(range_start, range_end, edges, dirty);
    let blocks = tile(widths, start, end, edges, dirty, sealed);
    blocks.into_iter().map(|(width, t, group)| (width, ts(t), ts(group))).collect()
}

/// A tiling's arguments in microseconds (range start, range end, edges, dirty
/// buckets), after checking that the bounds and edges are 15-minute bucket edges.
fn instants(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    edges: Option<Vec<TimestampWithTimeZone>>,
    dirty: Option<Vec<TimestampWithTimeZone>>,
) -> (i64, i64, Vec<i64>, Vec<i64>) {
    let edges: Vec<i64> = edges.unwrap_or_default().into_iter().map(|e| bucket_edge(e, TASK)).collect();
    let dirty: Vec<i64> = dirty.unwrap_or_default().into_iter().map(|d| d.into_inner()).collect();
    (bucket_edge(range_start, TASK), bucket_edge(range_end, TASK), edges, dirty)
}

const TASK: &str = "tile a report range";

fn ts(t: i64) -> TimestampWithTimeZone {
    timestamp(t, TASK)
}

/// The tiling itself, in microseconds since 2000-01-01 00:00 UTC: greedy from the
/// left, the largest aligned block that ends by the next edge and holds no dirty
/// bucket (widths divide each other, so this is the fewest blocks), and, when
/// `sealed` is given, is a 15-minute bucket or a sealed block.
fn tile(
    widths: &[i64],
    start: i64,
    end: i64,
    edges: Vec<i64>,
    mut dirty: Vec<i64>,
    sealed: Option<&Sealed>,
) -> Vec<(i64, i64, i64)> {
    let mut cuts: Vec<i64> = edges.into_iter().filter(|e| *e > start && *e < end).collect();
    cuts.push(end);
    cuts.sort_unstable();
    cuts.dedup();
    dirty.sort_unstable();
    let is_dirty = |from: i64, to: i64| {
        let i = dirty.partition_point(|d| *d < from);
        i < dirty.len() && dirty[i] < to
    };
    let mut blocks = Vec::new();
    let mut t = start;
    for cut in cuts {
        let group = t;
        while t < cut {
            let mut step = 15 * MINUTE;
            for &width in widths {
                let len = width * MINUTE;
                let usable = width == 15 || sealed.is_none_or(|s| s.contains(&(width, t)));
                if usable && t.rem_euclid(len) == 0 && t + len <= cut && !is_dirty(t, t + len) {
                    blocks.push((width, t, group));
                    step = len;
                    break;
                }
            }
            t += step;
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::{runs, tile as tile_with, Sealed, KEY_WIDTHS, MINUTE, TASK_WIDTHS, WIDTHS};

    fn tile(start: i64, end: i64, edges: Vec<i64>, dirty: Vec<i64>) -> Vec<(i64, i64, i64)> {
        tile_with(WIDTHS, start, end, edges, dirty, None)
    }
    const DAY: i64 = 1440 * MINUTE;

    /// The blocks cover the range exactly once, except the dirty buckets.
    fn covered(blocks: &[(i64, i64, i64)]) -> Vec<i64> {
        let mut q: Vec<i64> =
            blocks.iter().flat_map(|(w, t, _)| (0..w / 15).map(move |k| t + k * 15 * MINUTE)).collect();
        q.sort_unstable();
        q
    }

    #[test]
    fn utc_days_are_one_block_each() {
        let blocks = tile(10 * DAY, 13 * DAY, vec![11 * DAY, 12 * DAY], vec![]);
        assert_eq!(blocks, vec![(1440, 10 * DAY, 10 * DAY), (1440, 11 * DAY, 11 * DAY), (1440, 12 * DAY, 12 * DAY)]);
    }

    #[test]
    fn a_kolkata_day_takes_twelve_blocks_and_no_block_crosses_a_midnight() {
        // local midnights at 18:30 UTC
        let off = 18 * 60 * MINUTE + 30 * MINUTE;
        let edges: Vec<i64> = (0..4).map(|d| d * DAY + off).collect();
        let blocks = tile(0, 4 * DAY, edges.clone(), vec![]);
        for (w, t, g) in &blocks {
            assert!(edges.iter().all(|e| !(*e > *t && *e < t + w * MINUTE)), "block ({w}, {t}) crosses an edge");
            // the group start is the last edge at or before the block (or the range start)
            let expected = edges.iter().copied().filter(|e| e <= t).max().unwrap_or(0);
            assert_eq!(*g, expected);
        }
        let in_day = blocks.iter().filter(|(_, t, _)| *t >= DAY + off && *t < 2 * DAY + off).count();
        // 18:30-19:00 two quarters, 19-24 five hours, 0-18 three six-hour blocks,
        // 18:00-18:30 two quarters (reading hourly rows took 24 plus 2 x 4 quarters)
        assert_eq!(in_day, 12, "blocks for one local day");
        assert_eq!(covered(&blocks), (0..4 * 96).map(|k| k * 15 * MINUTE).collect::<Vec<_>>());
    }

    #[test]
    fn a_kolkata_day_is_four_runs_and_runs_cover_their_blocks() {
        let off = 18 * 60 * MINUTE + 30 * MINUTE;
        let edges: Vec<i64> = (0..4).map(|d| d * DAY + off).collect();
        let blocks = tile(0, 4 * DAY, edges, vec![DAY + 3 * 60 * MINUTE]);
        let runs = runs(&blocks);
        // every block in exactly one run of its width and group, runs never touch
        // a neighbour of the same width and group (they would be one run)
        for (w, t, g) in &blocks {
            let n = runs
                .iter()
                .filter(|(rw, rg, from, to)| rw == w && rg == g && from <= t && t + w * MINUTE <= *to)
                .count();
            assert_eq!(n, 1, "block ({w}, {t}) in {n} runs");
        }
        let covered: i64 = runs.iter().map(|(_, _, from, to)| to - from).sum();
        assert_eq!(covered, blocks.iter().map(|(w, _, _)| w * MINUTE).sum::<i64>());
        for pair in runs.windows(2) {
            assert!(!(pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1 && pair[0].3 == pair[1].2), "{pair:?}");
        }
        // an undisturbed local day (the third): 18:30-19 quarters, 19-24 hours,
        // 0-18 six hours, 18-18:30 quarters
        let day = 2 * DAY + off;
        assert_eq!(runs.iter().filter(|(_, g, _, _)| *g == day).count(), 4);
    }

    #[test]
    fn dirty_buckets_are_left_out_and_split_their_blocks() {
        let dirty = vec![DAY + 6 * 60 * MINUTE + 15 * MINUTE];
        let blocks = tile(DAY, 2 * DAY, vec![], dirty.clone());
        let q = covered(&blocks);
        assert_eq!(q.len(), 95);
        assert!(!q.contains(&dirty[0]));
        assert!(blocks.contains(&(360, DAY, DAY)) && blocks.contains(&(360, DAY + 12 * 60 * MINUTE, DAY)));
    }

    #[test]
    fn negative_instants_align_like_date_bin() {
        let blocks = tile(-DAY, 0, vec![], vec![]);
        assert_eq!(blocks, vec![(1440, -DAY, -DAY)]);
    }

    #[test]
    fn task_blocks_take_whole_weeks_inside_a_group() {
        // 2000-01-01 is a Saturday: weeks start there; a range from day 3 to day 24
        let week = 7 * DAY;
        let blocks = tile_with(TASK_WIDTHS, 3 * DAY, 24 * DAY, vec![], vec![], None);
        let weeks: Vec<i64> = blocks.iter().filter(|(w, _, _)| *w == 10080).map(|(_, t, _)| *t).collect();
        assert_eq!(weeks, vec![week, 2 * week]);
        assert_eq!(blocks.len(), 4 + 2 + 3, "days 3-6, weeks 7-20, days 21-23");
        assert_eq!(covered(&blocks), (3 * 96..24 * 96).map(|k| k * 15 * MINUTE).collect::<Vec<_>>());
        // an edge inside a week splits it into days
        let blocks = tile_with(TASK_WIDTHS, week, 2 * week, vec![week + 3 * DAY], vec![], None);
        assert!(blocks.iter().all(|(w, _, _)| *w == 1440));
    }

    #[test]
    fn key_blocks_use_only_sealed_blocks() {
        let week = 7 * DAY;
        // days 7..13 sealed and their week; day 14 sealed; day 15 not sealed
        let mut sealed: Sealed = (7..15).map(|d| (1440, d * DAY)).collect();
        sealed.insert((10080, week));
        let blocks = tile_with(KEY_WIDTHS, 6 * DAY, 16 * DAY, vec![], vec![], Some(&sealed));
        let wide: Vec<(i64, i64)> = blocks.iter().filter(|(w, _, _)| *w > 15).map(|(w, t, _)| (*w, *t)).collect();
        assert_eq!(wide, vec![(10080, week), (1440, 14 * DAY)]);
        // day 6 and day 15 from 15-minute rows; the range covered once
        assert_eq!(blocks.iter().filter(|(w, _, _)| *w == 15).count(), 2 * 96);
        assert_eq!(covered(&blocks), (6 * 96..16 * 96).map(|k| k * 15 * MINUTE).collect::<Vec<_>>());
        // a dirty bucket inside the sealed week: its days, the dirty one in quarters
        let blocks = tile_with(KEY_WIDTHS, week, 2 * week, vec![], vec![week + 2 * DAY], Some(&sealed));
        assert_eq!(blocks.iter().filter(|(w, _, _)| *w == 1440).count(), 6);
        assert_eq!(blocks.iter().filter(|(w, _, _)| *w == 15).count(), 95);
    }
}
