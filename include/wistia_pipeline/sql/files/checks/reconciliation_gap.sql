-- Check: per media-day, |events_count - play_count| <= tolerance * play_count.
-- ${tolerance} is a share (0.05 = 5 %); 0 demands an exact match. A NULL difference fails.
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
      OR abs(CAST(difference AS DOUBLE))
        > CAST(${tolerance} AS DOUBLE) * CAST(COALESCE(play_count, 0) AS DOUBLE)
    )
)
SELECT
  CAST('reconciliation_gap' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'events vs play_count within tolerance ${tolerance}'
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
