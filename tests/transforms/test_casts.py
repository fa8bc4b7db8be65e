"""The strict casts of tolerant bronze strings."""

from pyspark.sql import functions as F

from wistia_pipeline.transforms.casts import to_timestamp_utc

STAMPS = [
    "2026-03-01T17:48:17.581Z",
    "2026-03-01T17:48:17Z",
    "2026-03-01 17:48:17.123456Z",
    " 2026-03-01T00:00:00.000Z ",
    "2026-3-1T1:2:3Z",
    "2026-03-01T17:48:17.581",
    "2026-03-01T17:48:17+02:00",
    "2026-03-01T17:48:17-05:00Z",
    "2026-03-01T17:48:17+00:00Z",
    "2026-03-01T17:48:17 Z",
    "2026-03-01T17:48:17.Z",
    "2026-03-01Z",
    "2026-03-01",
    "2026-03-01T25:00:00Z",
    "Z",
    "T::Z",
    "1700000000",
    "",
    "  ",
    None,
]


def test_timestamps_read_as_the_plain_cast_reads_them_in_utc(spark):
    """Every stamp, valid or not, types as Spark's own cast of the trimmed text (session time
    zone UTC) types it, blanks to null: a ``Z`` or an offset is honoured, a zone-less stamp is
    UTC, a malformed zone ("+00:00Z") is no time at all."""
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    df = spark.createDataFrame([(s,) for s in STAMPS], "raw string")
    plain = F.when(F.trim("raw") != "", F.trim("raw").cast("timestamp"))
    rows = df.select("raw", to_timestamp_utc(F.col("raw")).alias("ours"), plain.alias("plain"))
    got = [(r["raw"], r["ours"], r["plain"]) for r in rows.collect()]
    assert [(raw, ours) for raw, ours, plain in got if ours != plain] == []
    assert sum(ours is not None for _, ours, _ in got) >= 8  # not all null
