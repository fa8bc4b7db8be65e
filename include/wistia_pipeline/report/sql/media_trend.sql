-- Report: the daily plays and hours watched over [start_date, end_date] of the top ${top_n}
-- media by plays on end_date (ties by media_id, the report's own order).
WITH top AS (
  SELECT media_id
  FROM ${database}.fact_media_daily
  WHERE dt = '${end_date}' AND plays > 0
  ORDER BY plays DESC, media_id
  LIMIT ${top_n}
)
SELECT
  f.dt,
  f.media_id,
  f.media_name,
  f.plays,
  f.hours_watched
FROM ${database}.fact_media_daily AS f
JOIN top AS t ON t.media_id = f.media_id
WHERE f.dt BETWEEN '${start_date}' AND '${end_date}'
ORDER BY f.dt, f.media_id
