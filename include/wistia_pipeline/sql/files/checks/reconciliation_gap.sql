-- Check: per media-day, events from /stats/events vs play_count from by_date
-- (difference = events_count - play_count). ${tolerance} is a share (0.05 = 5 %); 0 demands an
-- exact match. Tolerance rule (docs/architecture.md, "Reconciliation"):
--   settled days, dt < end_date (D-L .. D-1): |difference| <= tolerance * play_count;
--   the newest day, dt = end_date (D): provisional. Wistia's by_date counts a play before
--   /stats/events returns its event, so on D events may trail plays by any amount; events above
--   plays (difference > tolerance * play_count) still fail, late events never cause that.
--   The next runs re-ingest D (their lookback) and check it as a settled day; with
--   lookback_days = 0 that never happens, so a shortfall on D then goes unchecked.
-- A NULL difference fails on every day.
-- Not reconcilable, so not checked: a media-day whose plays were never captured (no by_date
-- row in gold) of a media that the run's own catalogue listing (medias_snapshots of end_date)
-- no longer holds: a media deleted in Wistia answers 404 for by_date while /stats/events still
-- returns its events. Captured days keep their plays (absence is not deletion) and are checked.
WITH listing AS (
  SELECT DISTINCT media_id
  FROM ${database}.medias_snapshots
  WHERE dt = '${end_date}'
),
unobservable AS (
  SELECT f.dt, f.media_id
  FROM ${database}.fact_media_daily AS f
  WHERE f.dt BETWEEN '${start_date}' AND '${end_date}'
    AND f.plays IS NULL
    AND EXISTS (SELECT 1 FROM listing)
    AND f.media_id NOT IN (SELECT media_id FROM listing)
),
gaps AS (
  SELECT
    r.dt,
    r.media_id,
    r.events_count,
    r.play_count,
    r.difference
  FROM ${database}.reconciliation AS r
  WHERE r.dt BETWEEN '${start_date}' AND '${end_date}'
    AND NOT EXISTS (
      SELECT 1 FROM unobservable AS u WHERE u.dt = r.dt AND u.media_id = r.media_id
    )
    AND (
      r.difference IS NULL
      OR CAST(r.difference AS DOUBLE)
        > CAST(${tolerance} AS DOUBLE) * CAST(COALESCE(r.play_count, 0) AS DOUBLE)
      OR (
        r.dt < '${end_date}'
        AND CAST(-r.difference AS DOUBLE)
          > CAST(${tolerance} AS DOUBLE) * CAST(COALESCE(r.play_count, 0) AS DOUBLE)
      )
    )
)
SELECT
  CAST('reconciliation_gap' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'events vs play_count within tolerance ${tolerance} '
      || '(newest day ${end_date}: events may trail plays; '
      || CAST((SELECT COUNT(*) FROM unobservable) AS VARCHAR)
      || ' media-day(s) of deleted media without captured plays not reconcilable)'
    ELSE 'gaps above tolerance ${tolerance} (dt/media_id: events vs plays): '
      || array_join(
        slice(
          array_agg(
            dt || '/' || COALESCE(media_id, 'NULL') || ': '
            || COALESCE(CAST(events_count AS VARCHAR), 'NULL') || ' vs '
            || COALESCE(CAST(play_count AS VARCHAR), 'NULL')
            ORDER BY abs(CAST(COALESCE(difference, 0) AS DOUBLE)) DESC, dt, media_id
          ),
          1, 20
        ),
        ', '
      )
  END AS detail
FROM gaps
