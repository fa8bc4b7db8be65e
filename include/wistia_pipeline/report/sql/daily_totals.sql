-- Report: account totals per day over [start_date, end_date] (the 28-day trend and the 7-day
-- baseline). play_rate is left to the reader (weighted: SUM(plays) / SUM(loads)).
-- unique_visitors is distinct visitor_key over ALL of the day's events (silver: the hashed key,
-- no PII); gold's per-media unique_visitors must not be summed (one viewer, many videos).
-- recomputed_at: when gold last rewrote the day (a later run's lookback heals late data).
WITH gold AS (
  SELECT
    dt,
    COUNT(*) AS media_count,
    SUM(loads) AS loads,
    SUM(plays) AS plays,
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
  g.hours_watched,
  g.events,
  COALESCE(v.unique_visitors, 0) AS unique_visitors,
  g.recomputed_at
FROM gold AS g
LEFT JOIN visitors AS v ON v.dt = g.dt
ORDER BY g.dt
