-- Events counted from /stats/events vs play_count from by_date, per day over the window:
-- totals and the relative gap |events - plays| / plays (DOUBLE, NULL when plays = 0).
SELECT
  dt,
  COUNT(*) AS media_count,
  SUM(events_count) AS events_count,
  SUM(play_count) AS play_count,
  SUM(abs(difference)) AS abs_difference,
  CAST(SUM(abs(difference)) AS DOUBLE) / CAST(NULLIF(SUM(play_count), 0) AS DOUBLE) AS relative_gap,
  COUNT_IF(difference <> 0) AS media_with_gap
FROM ${database}.reconciliation
WHERE dt BETWEEN '${start_date}' AND '${end_date}'
GROUP BY dt
ORDER BY dt
