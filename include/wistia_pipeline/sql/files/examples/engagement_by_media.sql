-- Engagement per media over the window, from silver events (one row per viewing session):
-- avg_percent_viewed is the mean over sessions (not an average of daily averages),
-- viewers is distinct visitor_key over the whole window, sessions_per_viewer is DOUBLE.
-- hours_per_play uses the by_date totals from gold (weighted: SUM(hours) / SUM(plays)).
WITH sessions AS (
  SELECT
    media_id,
    max(media_name) AS media_name,
    COUNT(*) AS sessions,
    COUNT(DISTINCT visitor_key) AS viewers,
    AVG(percent_viewed) AS avg_percent_viewed
  FROM ${database}.events
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY media_id
),
totals AS (
  SELECT media_id, SUM(plays) AS plays, SUM(hours_watched) AS hours_watched
  FROM ${database}.fact_media_daily
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY media_id
)
SELECT
  s.media_id,
  s.media_name,
  s.sessions,
  s.viewers,
  CAST(s.sessions AS DOUBLE) / CAST(NULLIF(s.viewers, 0) AS DOUBLE) AS sessions_per_viewer,
  s.avg_percent_viewed,
  t.plays,
  t.hours_watched,
  t.hours_watched / CAST(NULLIF(t.plays, 0) AS DOUBLE) AS hours_per_play
FROM sessions AS s
LEFT JOIN totals AS t ON t.media_id = s.media_id
ORDER BY s.sessions DESC, s.media_id
