"""parse_envelopes reads a line once (envelope and typed record together) and reads again, the
tolerant way, only a line that did not parse cleanly: every case below gets what the tolerant
two-step reading (envelope with the record as text, then the record) gives."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import functions as F

from wistia_pipeline.transforms.envelope import parse_envelopes

INGEST = {"run_id": "r1", "dt": "2026-03-01", "fetched_at": "2026-03-02T01:00:00Z"}
EVENT = {"event_key": "e1", "received_at": "2026-03-01T10:00:00Z", "media_id": "m1"}
SOURCE = "file:///lake/bronze/wistia/events/dt=2026-02-28/r9/part-00000.ndjson.gz"
ING = json.dumps(INGEST)


def line(record: object) -> str:
    return json.dumps({"_ingest": INGEST, "record": record})


# (line, rec as JSON or None, _run_id, _parse_error); "r9" = taken from the path
CASES = [
    (
        line(EVENT),
        '{"received_at":"2026-03-01T10:00:00Z","event_key":"e1","media_id":"m1"}',
        "r1",
        None,
    ),
    (line([1, 2]), None, "r1", "record_not_object"),
    (line("abc"), None, "r1", "record_not_object"),
    (line(5), None, "r1", "record_not_object"),
    (line(""), None, "r1", "record_not_object"),
    (line(None), None, "r1", "unparseable_line"),
    (json.dumps({"_ingest": INGEST}), None, "r1", "unparseable_line"),
    ("{not json", None, "r9", "unparseable_line"),
    ("", None, "r9", "unparseable_line"),
    # a broken record makes the whole line unreadable: run and dt come from the path
    ('{"_ingest": ' + ING + ', "record": {"event_key": "e1",}}', None, "r9", "unparseable_line"),
    # text that only looks like an object: no parse error, no fields (missing_event_key later)
    (line("{abc"), "{}", "r1", None),
    # a nested value of the wrong shape nulls that field only
    (line({"event_key": "e1", "thumbnail": "str"}), '{"event_key":"e1"}', "r1", None),
    (
        line(
            {
                "event_key": 12345678901234567890123,
                "percent_viewed": 1e5,
                "conversion_type": {"a": [1, 2.5]},
            }
        ),
        '{"event_key":"12345678901234567890123","percent_viewed":"100000.0",'
        '"conversion_type":"{\\"a\\":[1,2.5]}"}',
        "r1",
        None,
    ),
    # the last of a repeated key counts, as when the record is read as text first
    (
        '{"_ingest": ' + ING + ', "record": {"event_key": "e1"}, "record": "x"}',
        None,
        "r1",
        "record_not_object",
    ),
    ('{"_ingest": "x", "record": {"event_key": "e1"}}', '{"event_key":"e1"}', "r9", None),
]


def test_one_parse_gives_what_the_tolerant_reading_gives(lines_df) -> None:
    parsed = parse_envelopes(lines_df([(value, SOURCE) for value, *_ in CASES]), "events")
    got = parsed.orderBy("_row_id").select(
        F.to_json("rec").alias("rec"), "_run_id", "_parse_error", "_bronze_dt"
    )
    day = {"r1": dt.date(2026, 3, 1), "r9": dt.date(2026, 2, 28)}  # envelope's, path's
    want = [(rec, run, error, day[run]) for _, rec, run, error in CASES]
    assert [tuple(r) for r in got.collect()] == want
