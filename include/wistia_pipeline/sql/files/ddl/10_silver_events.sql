-- silver.events: one row per Wistia event_key; ip/email replaced by keyed HMAC-SHA256 hashes.
-- dt = UTC date of received_at. Partition projection: no MSCK REPAIR / ALTER TABLE ADD PARTITION.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.events (
  event_key string,
  received_at timestamp,
  media_id string,
  media_name string,
  visitor_key string,
  percent_viewed double,
  embed_url string,
  ip_hash string,
  email_hash string,
  org string,
  country string,
  region string,
  city string,
  lat double,
  lon double,
  conversion_type string,
  conversion_email_hash string,
  conversion_is_new_lead boolean,
  browser string,
  browser_version string,
  platform string,
  mobile boolean,
  thumbnail_url string,
  _run_id string,
  _fetched_at timestamp
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/events/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/events/dt=$${dt}/'
);
