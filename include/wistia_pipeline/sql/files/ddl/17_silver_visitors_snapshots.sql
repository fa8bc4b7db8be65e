-- silver.visitors_snapshots: the visitors each run observed (those its events name, looked up, or
-- the whole /stats/visitors list on a full refresh), stamped dt = each data day of the run.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.visitors_snapshots (
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
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/visitors_snapshots/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/visitors_snapshots/dt=$${dt}/'
);
