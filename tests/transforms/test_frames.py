"""Small DataFrames built in the JVM: local relations, no Python RDD behind them."""

from __future__ import annotations

import pytest
from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType

from wistia_pipeline.transforms.frames import local_frame

SCHEMA = StructType([StructField("name", StringType()), StructField("blob", BinaryType())])


def test_rows_come_back_as_given(spark):
    df = local_frame(spark, [("a", b"\x00\xff"), (None, None), ("zoë", b"")], SCHEMA)
    assert [tuple(r) for r in df.collect()] == [
        ("a", bytearray(b"\x00\xff")),
        (None, None),
        ("zoë", bytearray(b"")),
    ]
    assert df.schema == SCHEMA


def test_it_is_a_local_relation_the_optimiser_sees_through(spark):
    df = local_frame(spark, [("a", b"x")], SCHEMA)
    assert df._jdf.queryExecution().analyzed().nodeName() == "LocalRelation"
    empty = local_frame(spark, [], StructType([StructField("n", LongType())]))
    ids = spark.range(5)
    joined = ids.join(empty, ids["id"] == empty["n"])
    # an empty side makes the whole join empty before anything runs
    assert (
        joined._jdf.queryExecution().optimizedPlan().toString().startswith("LocalRelation <empty>")
    )


def test_other_values_and_row_widths_are_refused(spark):
    with pytest.raises(TypeError, match="str, bytes or None"):
        local_frame(spark, [("a", 1)], SCHEMA)
    with pytest.raises(ValueError, match="1 values for 2 columns"):
        local_frame(spark, [("a",)], SCHEMA)
