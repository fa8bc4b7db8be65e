-- Check: gold.fact_media_daily has at most one row per (dt, media_id) and no NULL media_id.
-- failures = number of offending keys in the window.
WITH offending AS (
  SELECT dt, media_id, COUNT(*) AS row_count
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY dt, media_id
  HAVING COUNT(*) > 1 OR media_id IS NULL
)
SELECT
  CAST('gold_unique_dt_media' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'one row per (dt, media_id)'
    ELSE 'duplicated or null keys (dt/media_id x rows): '
      || array_join(
        slice(
          array_agg(
            dt || '/' || COALESCE(media_id, 'NULL') || ' x' || CAST(row_count AS VARCHAR)
            ORDER BY dt, media_id
          ),
          1, 20
        ),
        ', '
      )
  END AS detail
FROM offending
