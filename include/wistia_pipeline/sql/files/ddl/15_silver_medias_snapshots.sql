-- silver.medias_snapshots: the media catalogue as listed on each run day (dt = logical date).
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.medias_snapshots (
  media_id string,
  media_numeric_id bigint,
  name string,
  type string,
  archived boolean,
  created timestamp,
  updated timestamp,
  duration double,
  description string,
  progress double,
  status string,
  section string,
  thumbnail_url string,
  folder_id bigint,
  folder_name string,
  folder_hashed_id string,
  _run_id string,
  _fetched_at timestamp
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/medias_snapshots/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${tables_uri}/silver/wistia/medias_snapshots/dt=$${dt}/'
);
