-- silver.media_daily_stats: one row per (media, UTC day) from /stats/medias/{id}/by_date.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.media_daily_stats (
  media_id string,
  load_count bigint,
  play_count bigint,
  hours_watched double,
  _run_id string,
  _fetched_at timestamp
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/media_daily_stats/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/media_daily_stats/dt=$${dt}/'
);
