-- Report: every media's gold row of one day (start_date = end_date = D); ranking is done by the
-- report (top by plays; top by play rate above a minimum of loads).
SELECT
  media_id,
  media_name,
  loads,
  plays,
  play_rate,
  hours_watched,
  unique_visitors,
  events,
  avg_percent_viewed
FROM ${database}.fact_media_daily
WHERE dt = '${end_date}'
ORDER BY plays DESC, media_id
