-- Top ${top_n} media per day by play rate. The rate is weighted (SUM(plays) / SUM(loads),
-- computed in DOUBLE: no integer division); media without loads that day are left out.
WITH per_media AS (
  SELECT
    dt,
    media_id,
    max(media_name) AS media_name,
    SUM(loads) AS loads,
    SUM(plays) AS plays,
    CAST(SUM(plays) AS DOUBLE) / CAST(NULLIF(SUM(loads), 0) AS DOUBLE) AS play_rate
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY dt, media_id
),
ranked AS (
  SELECT
    *,
    row_number() OVER (PARTITION BY dt ORDER BY play_rate DESC, loads DESC, media_id) AS rank
  FROM per_media
  WHERE loads > 0
)
SELECT dt, rank, media_id, media_name, loads, plays, play_rate
FROM ranked
WHERE rank <= ${top_n}
ORDER BY dt, rank
