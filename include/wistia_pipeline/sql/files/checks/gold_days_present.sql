-- Check: gold.fact_media_daily has rows for every day of the window [start_date, end_date].
-- Returns one row (check_name, failures, detail); passes when failures = 0.
WITH expected AS (
  SELECT CAST(d AS DATE) AS day
  FROM UNNEST(sequence(DATE '${start_date}', DATE '${end_date}', INTERVAL '1' DAY)) AS t (d)
),
present AS (
  SELECT DISTINCT CAST(dt AS DATE) AS day
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
),
missing AS (
  SELECT e.day
  FROM expected AS e
  LEFT JOIN present AS p ON p.day = e.day
  WHERE p.day IS NULL
)
SELECT
  CAST('gold_days_present' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'every day from ${start_date} to ${end_date} has gold rows'
    ELSE 'days without gold rows: '
      || array_join(slice(array_agg(CAST(day AS VARCHAR) ORDER BY day), 1, 20), ', ')
  END AS detail
FROM missing
