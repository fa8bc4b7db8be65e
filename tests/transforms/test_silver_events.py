import datetime as dt
import hashlib
import hmac

from transform_helpers import PII_KEY, make_line

from wistia_pipeline.transforms import silver
from wistia_pipeline.transforms.envelope import parse_envelopes
from wistia_pipeline.transforms.pii import PiiHasher
from wistia_pipeline.transforms.schemas import REJECT_COLUMNS, SILVER_EVENTS_COLUMNS

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 3)


def event(key, received_at, **over):
    rec = {
        "received_at": received_at,
        "event_key": key,
        "visitor_key": "v1",
        "embed_url": "https://example.com/p",
        "percent_viewed": 0.5,
        "ip": "203.0.113.7",
        "org": "Acme",
        "country": "US",
        "region": "CA",
        "city": "SF",
        "lat": 37.7,
        "lon": -122.4,
        "email": "Viewer@Example.com",
        "media_id": "m1",
        "media_name": "Intro",
        "media_url": "https://x/m1",
        "thumbnail": {"url": "https://t/m1.jpg", "width": 200, "height": 120},
        "conversion_type": "",
        "conversion_data": {},
        "user_agent_details": {
            "browser": "Firefox",
            "browser_version": "131.0",
            "platform": "Linux",
            "mobile": False,
        },
    }
    rec.update(over)
    return rec


def run(lines_df, rows):
    parsed = parse_envelopes(lines_df(rows), "events")
    checked = silver.check_events(parsed, START, END)
    hasher = PiiHasher(PII_KEY)
    return silver.events_silver(checked.valid, hasher), checked.rejects(hasher)


def test_typing_flattening_and_hashing(lines_df):
    conv = {"email": "Lead@Example.com", "first_name": "A", "last_name": "B", "is_new_lead": True}
    rows = [
        make_line("events", event("e1", "2026-03-01T00:00:00.000Z"), day="2026-03-01"),
        make_line(
            "events",
            event("e2", "2026-03-02T23:59:59Z", conversion_type=3, conversion_data=conv),
            day="2026-03-02",
        ),
    ]
    out, rejects = run(lines_df, rows)
    assert tuple(out.columns) == SILVER_EVENTS_COLUMNS
    got = {r["event_key"]: r for r in out.collect()}
    assert rejects.count() == 0
    e1, e2 = got["e1"], got["e2"]
    assert e1["received_at"] == dt.datetime(2026, 3, 1, 0, 0, 0)
    assert e1["dt"] == dt.date(2026, 3, 1)
    assert e2["received_at"] == dt.datetime(2026, 3, 2, 23, 59, 59)
    assert e2["dt"] == dt.date(2026, 3, 2)
    assert e1["conversion_type"] is None and e2["conversion_type"] == "3"
    assert e2["conversion_is_new_lead"] is True and e1["conversion_is_new_lead"] is None
    assert (e1["browser"], e1["browser_version"], e1["platform"], e1["mobile"]) == (
        "Firefox",
        "131.0",
        "Linux",
        False,
    )
    assert e1["thumbnail_url"] == "https://t/m1.jpg"
    assert e1["percent_viewed"] == 0.5 and e1["lat"] == 37.7
    key = PII_KEY.encode()
    assert e1["ip_hash"] == hmac.new(key, b"203.0.113.7", hashlib.sha256).hexdigest()
    assert e1["email_hash"] == hmac.new(key, b"viewer@example.com", hashlib.sha256).hexdigest()
    assert (
        e2["conversion_email_hash"]
        == hmac.new(key, b"lead@example.com", hashlib.sha256).hexdigest()
    )
    flat = " ".join(str(v) for r in got.values() for v in r.asDict().values())
    for raw in ("203.0.113.7", "Viewer@Example.com", "viewer@example.com", "Lead@Example.com"):
        assert raw not in flat


def test_dedup_keeps_latest_fetched_copy(lines_df):
    rows = [
        make_line(
            "events",
            event("e1", "2026-03-01T10:00:00Z", percent_viewed=0.1),
            day="2026-03-01",
            run_id="a",
            fetched_at="2026-03-02T00:00:00Z",
        ),
        make_line(
            "events",
            event("e1", "2026-03-01T10:00:00Z", percent_viewed=0.9),
            day="2026-03-01",
            run_id="b",
            fetched_at="2026-03-03T00:00:00Z",
        ),
        make_line(
            "events",
            event("e1", "2026-03-01T10:00:00Z", percent_viewed=0.3),
            day="2026-03-01",
            run_id="a",
            fetched_at="2026-03-02T00:00:00Z",
        ),
    ]
    out, _ = run(lines_df, rows)
    got = out.collect()
    assert len(got) == 1
    assert got[0]["percent_viewed"] == 0.9 and got[0]["_run_id"] == "b"


def test_bad_records_are_rejected_with_reasons(lines_df):
    no_key = event(None, "2026-03-01T10:00:00Z")
    rows = [
        make_line("events", event("ok", "2026-03-01T10:00:00Z"), day="2026-03-01"),
        make_line("events", no_key, day="2026-03-01"),
        make_line("events", event("e3", "yesterday-ish"), day="2026-03-01"),
        make_line(
            "events", event("e4", "2026-03-01T10:00:00Z", percent_viewed="lots"), day="2026-03-01"
        ),
        make_line("events", event("e5", "2026-02-27T10:00:00Z"), day="2026-03-01"),
        make_line("events", event("e6", "2026-03-01T10:00:00Z", media_id=""), day="2026-03-01"),
        make_line("events", [1, 2], day="2026-03-01"),
        ("{not json", "file:///lake/bronze/wistia/events/dt=2026-03-01/run-9/part-00000.ndjson.gz"),
    ]
    out, rejects = run(lines_df, rows)
    assert [r["event_key"] for r in out.collect()] == ["ok"]
    reasons = sorted((r["reason"], r["_run_id"]) for r in rejects.collect())
    assert reasons == sorted(
        [
            ("missing_event_key", "run-1"),
            ("bad_received_at", "run-1"),
            ("bad_percent_viewed", "run-1"),
            ("received_at_outside_window", "run-1"),
            ("missing_media_id", "run-1"),
            ("record_not_object", "run-1"),
            ("unparseable_line", "run-9"),
        ]
    )
    assert {r["dt"] for r in rejects.collect()} == {dt.date(2026, 3, 1)}


def hmac_hex(text: str) -> str:
    return hmac.new(PII_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_rejects_point_at_their_line_and_carry_only_hashes(lines_df):
    """A reject row is reason, file, line, run and hashed identifiers: no text of the record,
    so a non-ASCII address (which a redaction pattern would miss) cannot leak."""
    email = "Zoë.Bäcker@Exämple.com"
    rows = [
        make_line("events", event("ok", "2026-03-01T10:00:00Z"), day="2026-03-01"),
        make_line("events", event("e2", "soon", email=email), day="2026-03-01"),
        make_line("events", event(None, "2026-03-01T10:00:00Z", ip=None), day="2026-03-01"),
        (
            "{not json " + email,
            "s3://lake/bronze/wistia/events/dt=2026-03-01/r9/part-00001.ndjson.gz",
        ),
    ]
    _, rejects = run(lines_df, rows)
    assert tuple(rejects.columns) == REJECT_COLUMNS
    got = sorted(rejects.collect(), key=lambda r: (r["source_file"], r["line"]))
    source = rows[0][1]
    assert [(r["reason"], r["source_file"], r["line"], r["_run_id"]) for r in got] == [
        ("bad_received_at", source, 2, "run-1"),
        ("missing_event_key", source, 3, "run-1"),
        ("unparseable_line", rows[3][1], 1, "r9"),
    ]
    assert (got[0]["ip_hash"], got[0]["email_hash"]) == (
        hmac_hex("203.0.113.7"),
        hmac_hex(email.lower()),
    )
    assert (got[1]["ip_hash"], got[1]["email_hash"]) == (None, hmac_hex("viewer@example.com"))
    assert (got[2]["ip_hash"], got[2]["email_hash"]) == (None, None)
    cells = " ".join(str(v) for r in got for v in r.asDict().values())
    for leak in (email, email.lower(), "Zoë", "zoë", "Bäcker", "bäcker", "not json", "203.0.113"):
        assert leak not in cells


def test_schema_drift_new_and_missing_fields(lines_df):
    drifted = event("e1", "2026-03-01T10:00:00Z", brand_new_field={"x": [1, 2]})
    for name in ("lat", "lon", "email", "thumbnail", "conversion_data", "user_agent_details"):
        drifted.pop(name)
    rows = [make_line("events", drifted, day="2026-03-01")]
    out, rejects = run(lines_df, rows)
    got = out.collect()
    assert rejects.count() == 0 and len(got) == 1
    assert got[0]["lat"] is None and got[0]["email_hash"] is None and got[0]["browser"] is None
