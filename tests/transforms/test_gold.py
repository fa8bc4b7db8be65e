import datetime as dt

from wistia_pipeline.transforms import gold
from wistia_pipeline.transforms.schemas import (
    GOLD_DIM_MEDIA_COLUMNS,
    GOLD_FACT_COLUMNS,
    GOLD_RECONCILIATION_COLUMNS,
)

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
T = dt.datetime(2026, 3, 3, 1, 0)
EV = (
    "event_key string, received_at timestamp, media_id string, media_name string, "
    "visitor_key string, percent_viewed double, _fetched_at timestamp, dt date"
)
ST = (
    "media_id string, load_count bigint, play_count bigint, hours_watched double, "
    "_run_id string, _fetched_at timestamp, dt date"
)
AN = (
    "media_id string, unique_visitors bigint, play_rate double, engagement_rate double, "
    "_fetched_at timestamp, dt date"
)
MD = "media_id string, name string, last_seen_dt date"


def at(day, hour):
    return dt.datetime(day.year, day.month, day.day, hour)


def frames(spark):
    events = spark.createDataFrame(
        [
            ("e1", at(D1, 1), "m1", "M one", "v1", 0.5, T, D1),
            ("e2", at(D1, 2), "m1", "M one", "v1", 1.0, T, D1),
            ("e3", at(D1, 3), "m1", "M one", "v2", 0.0, T, D1),
            ("e4", at(D1, 4), "m2", "M two", "v1", 0.25, T, D1),  # v1 counted per media
            ("e5", at(D2, 4), "m3", "Only events", "v9", 0.75, T, D2),
        ],
        EV,
    )
    stats = spark.createDataFrame(
        [
            ("m1", 4, 3, 0.75, "r", T, D1),
            ("m2", 3, 1, 0.1, "r", T, D1),
            ("m4", 0, 0, 0.0, "r", T, D1),  # loads 0 -> play_rate null
            ("m1", 7, 0, 0.0, "r", T, D2),
        ],
        ST,
    )
    analytics = spark.createDataFrame([("m1", 2, 0.75, 0.5, T, D1)], AN)
    medias = spark.createDataFrame(
        [("m1", "Catalogue one", D2), ("m2", "Catalogue two", D2), ("m5", "Never active", D1)],
        MD,
    )
    return events, stats, analytics, medias


def test_fact_media_daily(spark):
    fact = gold.fact_media_daily(*frames(spark))
    assert tuple(fact.columns) == GOLD_FACT_COLUMNS
    types = dict(fact.dtypes)
    assert types["loads"] == types["plays"] == types["unique_visitors"] == "bigint"
    assert types["play_rate"] == types["avg_percent_viewed"] == "double"
    assert types["gold_ingested_at"] == "timestamp"
    rows = {(r["media_id"], r["dt"]): r for r in fact.collect()}
    assert set(rows) == {("m1", D1), ("m2", D1), ("m4", D1), ("m1", D2), ("m3", D2)}
    m1 = rows["m1", D1]
    assert (m1["loads"], m1["plays"], m1["events"], m1["unique_visitors"]) == (4, 3, 3, 2)
    assert m1["play_rate"] == 0.75 and m1["avg_percent_viewed"] == 0.5
    assert m1["media_name"] == "Catalogue one"
    assert (m1["analytics_unique_visitors"], m1["analytics_play_rate"]) == (2, 0.75)
    assert m1["analytics_engagement_rate"] == 0.5 and m1["gold_ingested_at"] == T
    assert rows["m2", D1]["unique_visitors"] == 1 and rows["m2", D1]["play_rate"] == 1 / 3
    assert rows["m4", D1]["play_rate"] is None and rows["m4", D1]["events"] == 0
    assert rows["m1", D2]["play_rate"] == 0.0 and rows["m1", D2]["analytics_play_rate"] is None
    m3 = rows["m3", D2]
    assert m3["loads"] is None and m3["play_rate"] is None and m3["events"] == 1
    assert m3["media_name"] == "Only events"


def test_fact_name_without_a_catalogue_name_is_the_latest_events(spark):
    """Where the catalogue has no name (media not listed, or listed without one), the fact
    takes the name of the day's latest event: by ``received_at``, then ``event_key``."""
    events, stats, analytics, medias = frames(spark)
    more = spark.createDataFrame(
        [
            ("e10", at(D1, 5), "m6", "Old", "v1", 0.1, T, D1),
            ("e12", at(D1, 6), "m6", "Tie won", "v1", 0.1, T, D1),
            ("e11", at(D1, 6), "m6", "Tie lost", "v2", 0.1, T, D1),
            ("e13", at(D1, 1), "m7", "Seven", "v1", 0.1, T, D1),
            ("e14", at(D2, 1), "m6", "Next day", "v1", 0.1, T, D2),
        ],
        EV,
    )
    unnamed = spark.createDataFrame([("m7", None, D2)], MD)
    fact = gold.fact_media_daily(
        events.unionByName(more), stats, analytics, medias.unionByName(unnamed)
    )
    names = {(r["media_id"], r["dt"]): r["media_name"] for r in fact.collect()}
    assert names["m6", D1] == "Tie won" and names["m6", D2] == "Next day"
    assert names["m7", D1] == "Seven"
    assert names["m1", D1] == "Catalogue one" and names["m2", D1] == "Catalogue two"


def test_reconciliation(spark):
    rec = gold.reconciliation(gold.fact_media_daily(*frames(spark)))
    assert tuple(rec.columns) == GOLD_RECONCILIATION_COLUMNS
    rows = {(r["media_id"], r["dt"]): r for r in rec.collect()}
    assert tuple(rows["m1", D1])[1:4] == (3, 3, 0)
    assert tuple(rows["m1", D2])[1:4] == (0, 0, 0)
    assert tuple(rows["m3", D2])[1:4] == (1, 0, 1)


def test_dim_media_keeps_every_media_ever_seen(spark):
    events, stats, analytics, medias = frames(spark)
    fact = gold.fact_media_daily(events, stats, analytics, medias)
    medias_full = medias.selectExpr(
        "media_id",
        "name",
        "cast(1 as bigint) as media_numeric_id",
        "'Video' as type",
        "false as archived",
        "cast(null as timestamp) as created",
        "cast(null as timestamp) as updated",
        "1.0 as duration",
        "'ready' as status",
        "cast(null as string) as section",
        "'u' as thumbnail_url",
        "'F' as folder_name",
        "last_seen_dt as first_seen_dt",
        "last_seen_dt",
    )
    snapshot_days = spark.createDataFrame([(D1,), (D2,)], "dt date")
    out = gold.dim_media(medias_full, fact, snapshot_days)
    assert tuple(out.columns) == GOLD_DIM_MEDIA_COLUMNS
    dim = {r["media_id"]: r for r in out.collect()}
    assert set(dim) == {"m1", "m2", "m3", "m4", "m5"}
    # m5 was listed on D1 only: the D2 snapshot no longer had it, so it was deleted then
    m5 = dim["m5"]
    assert m5["media_name"] == "Never active" and m5["in_latest_listing"] is False
    assert (m5["deleted"], m5["deleted_detected_dt"], m5["catalogue_last_seen_dt"]) == (
        True,
        D2,
        D1,
    )
    assert dim["m1"]["in_latest_listing"] is True
    assert (dim["m1"]["deleted"], dim["m1"]["deleted_detected_dt"]) == (False, None)
    assert dim["m3"]["deleted"] is None  # known from activity only: the catalogue never said
    assert dim["m3"]["media_name"] == "Only events" and dim["m3"]["first_activity_dt"] == D2
    assert dim["m1"]["first_activity_dt"] == D1 and dim["m1"]["last_activity_dt"] == D2
