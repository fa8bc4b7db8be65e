-- silver.medias_history: one row per media version (distinct `updated`) with the days it was
-- valid (valid_to_dt NULL for the current version).
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.medias_history (
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
  valid_from_dt date,
  valid_to_dt date,
  is_current boolean,
  _run_id string,
  _fetched_at timestamp
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/silver/wistia/medias_history/';
