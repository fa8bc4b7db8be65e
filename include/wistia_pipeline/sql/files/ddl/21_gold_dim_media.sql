-- gold.dim_media: one row per media ever seen, in the catalogue (any snapshot) or in any
-- fact day; latest known attributes, never dropped because a day's listing missed it.
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
  first_activity_dt date,
  last_activity_dt date
)
STORED AS PARQUET
LOCATION '${lake_uri}/gold/wistia/dim_media/';
