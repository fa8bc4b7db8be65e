-- Check: hashed identity columns in silver hold only HMAC-SHA256 hex digests (64 lowercase
-- hex chars) or NULL, and free-text columns carry no email address or IPv4 address (an
-- identity leaking through another field). The detail names columns and counts, never the
-- offending values (they may be PII).
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
  SELECT 'visitors.email_hash', email_hash FROM ${database}.visitors
  UNION ALL
  SELECT 'visitors.name_hash', name_hash FROM ${database}.visitors
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
  SELECT 'visitors.org_name', org_name FROM ${database}.visitors
  UNION ALL
  SELECT 'visitors.org_title', org_title FROM ${database}.visitors
),
bad AS (
  SELECT
    column_name,
    CASE
      WHEN regexp_like(value, '[^@ ]+@[^@ ]+[.][^@ ]+') THEN 'email-like'
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
      WHEN regexp_like(value, '[^@ ]+@[^@ ]+[.][^@ ]+') THEN 'email-like'
      ELSE 'ipv4-like'
    END AS kind
  FROM free_text
  WHERE value IS NOT NULL
    AND (
      regexp_like(value, '[^@ ]+@[^@ ]+[.][^@ ]+')
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
