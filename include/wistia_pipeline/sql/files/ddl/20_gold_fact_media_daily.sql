-- gold.fact_media_daily: one row per (dt, media_id) with by_date stats or events that day.
-- play_rate = plays / loads as double, null when loads = 0. unique_visitors = distinct
-- visitor_key among that media's events on dt (UTC): never sum it across days.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.fact_media_daily (
  media_id string,
  media_name string,
  loads bigint,
  plays bigint,
  play_rate double,
  hours_watched double,
  unique_visitors bigint,
  events bigint,
  avg_percent_viewed double,
  analytics_unique_visitors bigint,
  analytics_play_rate double,
  analytics_engagement_rate double,
  gold_ingested_at timestamp
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/gold/wistia/fact_media_daily/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/gold/wistia/fact_media_daily/dt=$${dt}/'
);
