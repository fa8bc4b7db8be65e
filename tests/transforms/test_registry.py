"""The silver spec table against the stream list, and empty tables from the specs."""

import pytest

from wistia_pipeline.streams import ALL_STREAMS, BRONZE, SILVER_TABLES
from wistia_pipeline.transforms.empty import empty_silver
from wistia_pipeline.transforms.registry import SILVER
from wistia_pipeline.transforms.schemas import (
    MEDIA_ATTRIBUTE_COLUMNS,
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
