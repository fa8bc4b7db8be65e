-- silver.visitors: one row per visitor_key (latest last_active_at); identity fields hashed.
-- Account-wide: never join it to a media as if /stats/visitors were per media.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.visitors (
  visitor_key string,
  created_at timestamp,
  last_active_at timestamp,
  last_event_key string,
  load_count bigint,
  play_count bigint,
  name_hash string,
  email_hash string,
  org_name string,
  org_title string,
  browser string,
  browser_version string,
  platform string,
  mobile boolean,
  _run_id string,
  _fetched_at timestamp
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/visitors/';
