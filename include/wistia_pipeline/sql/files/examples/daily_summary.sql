-- Account totals per day. play_rate is weighted (total plays / total loads, DOUBLE).
-- unique_visitors is distinct visitor_key over ALL of the day's events from silver: the
-- per-media unique_visitors in gold must not be summed (one visitor can watch many media).
-- recomputed_at: when gold last rewrote the day (a later run's lookback heals late data).
WITH gold AS (
  SELECT
    dt,
    COUNT(*) AS media_count,
    SUM(loads) AS loads,
    SUM(plays) AS plays,
    CAST(SUM(plays) AS DOUBLE) / CAST(NULLIF(SUM(loads), 0) AS DOUBLE) AS play_rate,
    SUM(hours_watched) AS hours_watched,
    SUM(events) AS events,
    max(gold_ingested_at) AS recomputed_at
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY dt
),
visitors AS (
  SELECT dt, COUNT(DISTINCT visitor_key) AS unique_visitors
  FROM ${database}.events
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY dt
)
SELECT
  g.dt,
  g.media_count,
  g.loads,
  g.plays,
  g.play_rate,
  g.hours_watched,
  g.events,
  COALESCE(v.unique_visitors, 0) AS unique_visitors,
  g.recomputed_at
FROM gold AS g
LEFT JOIN visitors AS v ON v.dt = g.dt
ORDER BY g.dt
