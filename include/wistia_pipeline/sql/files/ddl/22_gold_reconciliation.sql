-- gold.reconciliation: per media-day, events counted from /stats/events vs play_count from
-- /stats/medias/{id}/by_date; difference = events_count - play_count.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.reconciliation (
  media_id string,
  events_count bigint,
  play_count bigint,
  difference bigint
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/gold/wistia/reconciliation/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/gold/wistia/reconciliation/dt=$${dt}/'
);
