-- silver.rejects: bad records per source table (silver/wistia/_rejects/<table>/dt=...).
-- No record text: source_file (the bronze part URI) and line (1-based) point at the record;
-- ip_hash / email_hash are the same keyed hashes silver uses (null when the record has none).
-- Two projected partition keys: the source table (enum) and the day.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.rejects (
  reason string,
  source_file string,
  line bigint,
  _run_id string,
  ip_hash string,
  email_hash string
)
PARTITIONED BY (source_table string, dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/_rejects/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.source_table.type' = 'enum',
  'projection.source_table.values' = 'events,media_daily_stats,media_analytics_daily,medias,visitors',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/_rejects/$${source_table}/dt=$${dt}/'
);
