import datetime as dt
import hashlib
import hmac

from transform_helpers import PII_KEY, make_line

from wistia_pipeline.transforms import silver
from wistia_pipeline.transforms.envelope import parse_envelopes
from wistia_pipeline.transforms.pii import PiiHasher
from wistia_pipeline.transforms.schemas import (
    SILVER_MEDIA_ANALYTICS_COLUMNS,
    SILVER_MEDIA_DAILY_STATS_COLUMNS,
)

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 3)


def by_date(day, loads, plays, hours=0.5):
    return {"date": day, "load_count": loads, "play_count": plays, "hours_watched": hours}


def test_media_daily_stats_latest_wins_and_rejects(lines_df):
    rows = [
        make_line(
            "media_by_date",
            by_date("2026-03-01", 10, 4),
            day="2026-03-01",
            media_id="m1",
            fetched_at="2026-03-02T00:00:00Z",
            run_id="a",
        ),
        make_line(
            "media_by_date",
            by_date("2026-03-01", 12, 5),
            day="2026-03-01",
            media_id="m1",
            fetched_at="2026-03-03T00:00:00Z",
            run_id="b",
        ),
        make_line("media_by_date", by_date("2026-03-02", 0, 0, 0), day="2026-03-02", media_id="m1"),
        make_line(
            "media_by_date", by_date("2026-03-02", "many", 0), day="2026-03-02", media_id="m2"
        ),
        make_line("media_by_date", by_date("2026-03-02", 1.5, 0), day="2026-03-02", media_id="m3"),
        make_line("media_by_date", by_date("2026-03-02", 1, 0), day="2026-03-02"),
    ]
    checked = silver.check_media_by_date(
        parse_envelopes(lines_df(rows), "media_by_date"), START, END
    )
    out = silver.media_daily_stats_silver(checked.valid)
    assert tuple(out.columns) == SILVER_MEDIA_DAILY_STATS_COLUMNS
    got = {(r["media_id"], r["dt"].isoformat()): r for r in out.collect()}
    assert set(got) == {("m1", "2026-03-01"), ("m1", "2026-03-02")}
    assert (got["m1", "2026-03-01"]["load_count"], got["m1", "2026-03-01"]["play_count"]) == (12, 5)
    reasons = sorted(r["reason"] for r in checked.rejects(PiiHasher(PII_KEY)).collect())
    assert reasons == ["bad_load_count", "bad_load_count", "missing_media_id"]


def test_analytics_typed_by_day(lines_df):
    rec = {
        "timestamp": "2026-03-02T00:00:00Z",
        "unique_loads": 5,
        "unique_plays": 3,
        "plays": 4,
        "play_rate": 0.4,
        "played_time": 100,
        "unique_visitors": 3,
        "engagement_rate": 0.55,
        "cta_impressions": 1,
        "cta_conversions": 0,
        "cta_conversion_rate": 0.0,
        "form_conversions": 0,
        "new_metric": 7,
    }
    rows = [make_line("analytics", rec, day="2026-03-02", media_id="m1")]
    checked = silver.check_analytics(parse_envelopes(lines_df(rows), "analytics"), START, END)
    out = silver.media_analytics_silver(checked.valid)
    assert tuple(out.columns) == SILVER_MEDIA_ANALYTICS_COLUMNS
    row = out.collect()[0]
    assert row["dt"] == dt.date(2026, 3, 2) and row["unique_visitors"] == 3
    assert row["play_rate"] == 0.4 and row["engagement_rate"] == 0.55
    assert checked.rejects(PiiHasher(PII_KEY)).count() == 0


def media(hashed, name, updated, **over):
    rec = {
        "id": 1,
        "hashed_id": hashed,
        "name": name,
        "type": "Video",
        "archived": False,
        "created": "2026-01-01T00:00:00Z",
        "updated": updated,
        "duration": 61.5,
        "description": "",
        "progress": 1.0,
        "status": "ready",
        "section": None,
        "thumbnail": {"url": f"https://t/{hashed}.jpg", "width": 1, "height": 1},
        "folder": {"id": 9, "name": "F", "hashedId": "f9"},
    }
    rec.update(over)
    return rec


def test_medias_current_and_history_keep_missing_media(lines_df):
    rows = [
        make_line("medias", media("m1", "Old", "2026-03-01T00:00:00Z"), day="2026-03-01"),
        make_line("medias", media("m2", "Gone later", "2026-02-01T00:00:00Z"), day="2026-03-01"),
        make_line("medias", media("m1", "New", "2026-03-02T08:00:00Z"), day="2026-03-02"),
        make_line("medias", media("m1", "New", "2026-03-02T08:00:00Z"), day="2026-03-03"),
        make_line("medias", media("", "no id", "2026-03-02T08:00:00Z"), day="2026-03-03"),
    ]
    checked = silver.check_medias(parse_envelopes(lines_df(rows), "medias"))
    snaps = silver.medias_snapshot_silver(checked.valid)
    current = {r["media_id"]: r for r in silver.medias_current(snaps).collect()}
    assert set(current) == {"m1", "m2"}
    assert current["m1"]["name"] == "New" and current["m1"]["last_seen_dt"] == dt.date(2026, 3, 3)
    assert current["m2"]["last_seen_dt"] == dt.date(2026, 3, 1)
    assert current["m1"]["duration"] == 61.5 and current["m1"]["folder_name"] == "F"
    history = sorted(
        (r["media_id"], r["name"], r["valid_from_dt"], r["valid_to_dt"], r["is_current"])
        for r in silver.medias_history(snaps).collect()
    )
    assert history == [
        ("m1", "New", dt.date(2026, 3, 2), None, True),
        ("m1", "Old", dt.date(2026, 3, 1), dt.date(2026, 3, 1), False),
        ("m2", "Gone later", dt.date(2026, 3, 1), None, True),
    ]
    assert [r["reason"] for r in checked.rejects(PiiHasher(PII_KEY)).collect()] == [
        "missing_hashed_id"
    ]


def visitor(key, last_active, name="Zoë Doe", email="zoe@example.com"):
    return {
        "visitor_key": key,
        "created_at": "2026-01-01T00:00:00Z",
        "last_active_at": last_active,
        "last_event_key": "e1",
        "load_count": 3,
        "play_count": 2,
        "visitor_identity": {"name": name, "email": email, "org": {"name": "Acme", "title": None}},
        "user_agent_details": {
            "browser": "Chrome",
            "browser_version": "120",
            "platform": "Mac",
            "mobile": True,
        },
    }


def test_visitors_latest_and_hashed(lines_df):
    rows = [
        make_line("visitors", visitor("v1", "2026-03-01T10:00:00Z"), day="2026-03-01"),
        make_line("visitors", visitor("v1", "2026-03-02T10:00:00.000Z", name=""), day="2026-03-02"),
        make_line("visitors", visitor("v2", "2026-03-01T10:00:00Z", email=None), day="2026-03-01"),
    ]
    checked = silver.check_visitors(parse_envelopes(lines_df(rows), "visitors"))
    snaps = silver.visitors_snapshot_silver(checked.valid, PiiHasher(PII_KEY))
    cur = {r["visitor_key"]: r for r in silver.visitors_current(snaps).collect()}
    assert set(cur) == {"v1", "v2"}
    assert cur["v1"]["last_active_at"] == dt.datetime(2026, 3, 2, 10)
    assert cur["v1"]["name_hash"] is None  # "" name -> null, not a hash of ""
    assert cur["v2"]["email_hash"] is None
    assert (
        cur["v2"]["name_hash"]
        == hmac.new(PII_KEY.encode(), "Zoë Doe".encode(), hashlib.sha256).hexdigest()
    )
    assert (
        cur["v1"]["email_hash"]
        == hmac.new(PII_KEY.encode(), b"zoe@example.com", hashlib.sha256).hexdigest()
    )
    flat = " ".join(str(v) for r in cur.values() for v in r.asDict().values())
    assert "zoe@example.com" not in flat and "Zoë" not in flat
