-- The Glue Data Catalog database holding every silver and gold table.
CREATE DATABASE IF NOT EXISTS ${database}
COMMENT 'Wistia analytics lake: silver (typed, private) and gold (metrics) tables'
LOCATION '${tables_uri}/';
