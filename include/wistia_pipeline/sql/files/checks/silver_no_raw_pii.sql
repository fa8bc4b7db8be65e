-- Check: hashed identity columns in silver hold only HMAC-SHA256 hex digests (64 lowercase
-- hex chars) or NULL, and free-text columns carry no email address or IPv4 address (an
-- identity leaking through another field). The detail names columns and counts, never the
-- offending values (they may be PII).
-- Visitors are read from the window's visitors_snapshots partitions: in the staging database
-- only those are this run's output (the whole visitors table is staged under the run itself).
-- An email is local@domain.tld with a non-empty local part: "@" alone is not one, so URLs such
-- as https://site.com/@user/post.html pass. Retina image names (logo@2x.png) are blanked out
-- first, since "2x.png" is shaped like a domain.
WITH hashed AS (
  SELECT 'events.ip_hash' AS column_name, ip_hash AS value
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'events.email_hash', email_hash
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'events.conversion_email_hash', conversion_email_hash
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'visitors.email_hash', email_hash
  FROM ${database}.visitors_snapshots WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'visitors.name_hash', name_hash
  FROM ${database}.visitors_snapshots WHERE dt BETWEEN '${start_date}' AND '${end_date}'
),
free_text AS (
  SELECT 'events.org' AS column_name, org AS value
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'events.embed_url', embed_url
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'events.media_name', media_name
  FROM ${database}.events WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'visitors.org_name', org_name
  FROM ${database}.visitors_snapshots WHERE dt BETWEEN '${start_date}' AND '${end_date}'
  UNION ALL
  SELECT 'visitors.org_title', org_title
  FROM ${database}.visitors_snapshots WHERE dt BETWEEN '${start_date}' AND '${end_date}'
),
free_text_scrubbed AS (
  SELECT column_name, regexp_replace(value, '@[0-9]+([.][0-9]+)?x[.]', '.') AS value
  FROM free_text
),
bad AS (
  SELECT
    column_name,
    CASE
      WHEN regexp_like(value, '(^|[^A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}($|[^A-Za-z0-9-])') THEN 'email-like'
      WHEN regexp_like(value, '^[0-9]{1,3}([.][0-9]{1,3}){3}$') THEN 'ipv4-like'
      WHEN regexp_like(value, '^[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F:]*$') THEN 'ipv6-like'
      ELSE 'not a 64-hex digest'
    END AS kind
  FROM hashed
  WHERE value IS NOT NULL AND NOT regexp_like(value, '^[0-9a-f]{64}$')
  UNION ALL
  SELECT
    column_name,
    CASE
      WHEN regexp_like(value, '(^|[^A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}($|[^A-Za-z0-9-])') THEN 'email-like'
      ELSE 'ipv4-like'
    END AS kind
  FROM free_text_scrubbed
  WHERE value IS NOT NULL
    AND (
      regexp_like(value, '(^|[^A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}($|[^A-Za-z0-9-])')
      OR regexp_like(value, '(^|[^0-9.])[0-9]{1,3}([.][0-9]{1,3}){3}([^0-9.]|$)')
    )
),
grouped AS (
  SELECT column_name, kind, COUNT(*) AS n
  FROM bad
  GROUP BY column_name, kind
)
SELECT
  CAST('silver_no_raw_pii' AS VARCHAR) AS check_name,
  CAST(COALESCE(SUM(n), 0) AS BIGINT) AS failures,
  CASE
    WHEN COUNT(*) = 0 THEN 'hashed columns hold only 64-hex digests or null'
    ELSE 'unhashed values (column kind: rows): '
      || array_join(
        array_agg(column_name || ' ' || kind || ': ' || CAST(n AS VARCHAR)
          ORDER BY column_name, kind),
        ', '
      )
  END AS detail
FROM grouped
