-- gold.dim_media: one row per media ever seen, in the catalogue (any snapshot) or in any
-- fact day; latest known attributes, never dropped because a day's listing missed it.
-- deleted: a snapshot after catalogue_last_seen_dt no longer listed it (deleted_detected_dt
-- is the first such day); null for media known only from activity.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.dim_media (
  media_id string,
  media_name string,
  media_numeric_id bigint,
  type string,
  archived boolean,
  created timestamp,
  updated timestamp,
  duration double,
  status string,
  section string,
  thumbnail_url string,
  folder_name string,
  catalogue_first_seen_dt date,
  catalogue_last_seen_dt date,
  in_latest_listing boolean,
  deleted boolean,
  deleted_detected_dt date,
  first_activity_dt date,
  last_activity_dt date
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${tables_uri}/gold/wistia/dim_media/';
