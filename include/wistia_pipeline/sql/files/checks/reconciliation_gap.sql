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
WITH gaps AS (
  SELECT
    dt,
    media_id,
    events_count,
    play_count,
    difference
  FROM ${database}.reconciliation
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
    AND (
      difference IS NULL
      OR CAST(difference AS DOUBLE)
        > CAST(${tolerance} AS DOUBLE) * CAST(COALESCE(play_count, 0) AS DOUBLE)
      OR (
        dt < '${end_date}'
        AND CAST(-difference AS DOUBLE)
          > CAST(${tolerance} AS DOUBLE) * CAST(COALESCE(play_count, 0) AS DOUBLE)
      )
    )
)
SELECT
  CAST('reconciliation_gap' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'events vs play_count within tolerance ${tolerance} '
      || '(newest day ${end_date}: events may trail plays)'
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
