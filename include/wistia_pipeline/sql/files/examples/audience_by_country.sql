-- Audience per country over the window from silver events: sessions, distinct viewers over the
-- whole window (not summed per day) and the country's share of all sessions (DOUBLE).
WITH by_country AS (
  SELECT
    COALESCE(NULLIF(country, ''), 'unknown') AS country,
    COUNT(*) AS sessions,
    COUNT(DISTINCT visitor_key) AS viewers,
    AVG(percent_viewed) AS avg_percent_viewed
  FROM ${database}.events
  WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  GROUP BY 1
)
SELECT
  country,
  sessions,
  viewers,
  CAST(sessions AS DOUBLE) / CAST(SUM(sessions) OVER () AS DOUBLE) AS session_share,
  avg_percent_viewed
FROM by_country
ORDER BY sessions DESC, country
