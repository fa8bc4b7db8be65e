-- silver.media_analytics_daily: Wistia's own daily figures from
-- /analytics/medias/{id}/timeseries?granularity=daily (absent on plans that answer 403).
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.media_analytics_daily (
  media_id string,
  unique_loads bigint,
  unique_plays bigint,
  plays bigint,
  play_rate double,
  played_time bigint,
  unique_visitors bigint,
  engagement_rate double,
  cta_impressions bigint,
  cta_conversions bigint,
  cta_conversion_rate double,
  form_conversions bigint,
  _run_id string,
  _fetched_at timestamp
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/media_analytics_daily/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/media_analytics_daily/dt=$${dt}/'
);
