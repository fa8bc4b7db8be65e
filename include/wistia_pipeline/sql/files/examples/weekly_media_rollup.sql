-- Weekly (ISO week, Monday start) rollup per media over the window. Additive measures are
-- summed; play_rate is re-derived from the sums (weighted, DOUBLE); unique_visitors is counted
-- DISTINCT over the week's events in silver, never summed from daily distinct counts.
-- days_in_window < 7 marks a week cut by the window's edges.
WITH daily AS (
  SELECT
    CAST(date_trunc('week', CAST(dt AS DATE)) AS DATE) AS week_start,
    dt,
    media_id,
    media_name,
    loads,
    plays,
    hours_watched,
    events
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
),
weekly AS (
  SELECT
    week_start,
    media_id,
    max(media_name) AS media_name,
    COUNT(DISTINCT dt) AS days_in_window,
    SUM(loads) AS loads,
    SUM(plays) AS plays,
    SUM(hours_watched) AS hours_watched,
    SUM(events) AS events
  FROM daily
  GROUP BY week_start, media_id
),
weekly_visitors AS (
  SELECT
    CAST(date_trunc('week', CAST(dt AS DATE)) AS DATE) AS week_start,
    media_id,
    COUNT(DISTINCT visitor_key) AS unique_visitors
  FROM ${database}.events
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY 1, 2
)
SELECT
  w.week_start,
  w.media_id,
  w.media_name,
  w.days_in_window,
  w.loads,
  w.plays,
  CAST(w.plays AS DOUBLE) / CAST(NULLIF(w.loads, 0) AS DOUBLE) AS play_rate,
  w.hours_watched,
  w.events,
  COALESCE(v.unique_visitors, 0) AS unique_visitors
FROM weekly AS w
LEFT JOIN weekly_visitors AS v
  ON v.week_start = w.week_start AND v.media_id = w.media_id
ORDER BY w.week_start, w.plays DESC, w.media_id
