"""The silver spec table against the stream list, and empty tables from the specs."""

import pytest
from pyspark.sql.types import StructType

from wistia_pipeline.streams import ALL_STREAMS, BRONZE, SILVER_TABLES
from wistia_pipeline.transforms import silver
from wistia_pipeline.transforms.empty import empty_silver
from wistia_pipeline.transforms.registry import SILVER
from wistia_pipeline.transforms.schemas import (
    MEDIA_ATTRIBUTE_COLUMNS,
    RECORD_SCHEMAS,
    SILVER_EVENTS_COLUMNS,
    SILVER_MEDIA_ANALYTICS_COLUMNS,
    SILVER_MEDIA_DAILY_STATS_COLUMNS,
    VISITOR_COLUMNS,
)


def test_every_stream_has_a_spec_and_every_silver_table_one_builder():
    assert set(SILVER) == set(ALL_STREAMS)  # a stream without a spec would never reach silver
    built = [table for spec in SILVER.values() for table in spec.tables]
    assert sorted(built) == sorted(SILVER_TABLES)
    for stream, spec in SILVER.items():  # each stream files its rejects under a table it feeds
        assert BRONZE[stream].silver_table in spec.tables


EXPECTED_COLUMNS = {
    "events": SILVER_EVENTS_COLUMNS,
    "media_daily_stats": SILVER_MEDIA_DAILY_STATS_COLUMNS,
    "media_analytics_daily": SILVER_MEDIA_ANALYTICS_COLUMNS,
    "medias_snapshots": (*MEDIA_ATTRIBUTE_COLUMNS, "_run_id", "_fetched_at", "dt"),
    "medias": (
        *MEDIA_ATTRIBUTE_COLUMNS,
        "first_seen_dt",
        "last_seen_dt",
        "_run_id",
        "_fetched_at",
    ),
    "medias_history": (
        *MEDIA_ATTRIBUTE_COLUMNS,
        "valid_from_dt",
        "valid_to_dt",
        "is_current",
        "_run_id",
        "_fetched_at",
    ),
    "visitors_snapshots": (*VISITOR_COLUMNS, "dt"),
    "visitors": VISITOR_COLUMNS,
}


@pytest.mark.parametrize("table", SILVER_TABLES)
def test_empty_silver_has_the_table_columns(spark, table):
    assert tuple(empty_silver(spark, table).columns) == EXPECTED_COLUMNS[table]


def test_empty_silver_of_an_unknown_table(spark):
    with pytest.raises(ValueError, match="no empty schema"):
        empty_silver(spark, "fact_media_daily")


FIELD_TABLES = {
    "events": silver.EVENT_FIELDS,
    "media_by_date": silver.MEDIA_BY_DATE_FIELDS,
    "analytics": silver.ANALYTICS_FIELDS,
    "medias": silver.MEDIA_FIELDS,
    "visitors": silver.VISITOR_FIELDS,
}


def _leaves(schema: StructType, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for field in schema.fields:
        path = prefix + field.name
        nested = field.dataType
        out |= _leaves(nested, path + ".") if isinstance(nested, StructType) else {path}
    return out


@pytest.mark.parametrize("stream", sorted(RECORD_SCHEMAS))
def test_a_record_schema_parses_exactly_what_its_field_table_reads(stream):
    """A leaf no field reads costs a value per line for nothing; a field whose path the schema
    lacks would read null from every record."""
    assert set(FIELD_TABLES) == set(RECORD_SCHEMAS)
    read = {
        source
        for field in FIELD_TABLES[stream]
        for source in (field.source if isinstance(field.source, tuple) else (field.source,))
        if not source.startswith("_")
    }
    assert _leaves(RECORD_SCHEMAS[stream]) == read
