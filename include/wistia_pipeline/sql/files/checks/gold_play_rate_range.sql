-- Check: gold play_rate is in [0, 1] or NULL (never NaN), and NULL when loads = 0.
WITH bad AS (
  SELECT
    dt,
    media_id,
    play_rate,
    CASE
      WHEN COALESCE(loads, 0) = 0 THEN 'play_rate not null with zero loads'
      ELSE 'play_rate outside [0, 1]'
    END AS reason
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
    AND play_rate IS NOT NULL
    AND (is_nan(play_rate) OR play_rate < 0 OR play_rate > 1 OR COALESCE(loads, 0) = 0)
)
SELECT
  CAST('gold_play_rate_range' AS VARCHAR) AS check_name,
  CAST(COUNT(*) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'play_rate within [0, 1] or null'
    ELSE 'bad play_rate (dt/media_id=value: reason): '
      || array_join(
        slice(
          array_agg(
            dt || '/' || COALESCE(media_id, 'NULL') || '=' || CAST(play_rate AS VARCHAR)
            || ': ' || reason
            ORDER BY dt, media_id
          ),
          1, 20
        ),
        ', '
      )
  END AS detail
FROM bad
