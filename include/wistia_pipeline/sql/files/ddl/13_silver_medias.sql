-- silver.medias: current attributes per media (latest `updated` over all snapshots);
-- media_id = Wistia hashed_id. A media missing from a later listing keeps its row
-- (last_seen_dt tells when it was last listed). Not partitioned: rewritten by each run.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.medias (
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
  first_seen_dt date,
  last_seen_dt date,
  _run_id string,
  _fetched_at timestamp
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/medias/';
