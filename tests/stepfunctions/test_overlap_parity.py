"""The twin's overlap guard finds exactly the runs the DAG's ``claim_day`` refuses on.

The DAG reads the neighbour days with ``list_days`` and filters them with
:func:`pipeline.conflicting_runs`; the twin scans the table with the shared
``OVERLAP_FILTER``. Here both run over the same items in a moto DynamoDB table (written by the
real store), the scan with the parameters of the twin's ``FindOverlappingRuns`` state (its
JSONPath values bound the way the state binds them) and followed page by page like the state.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from wistia_pipeline import dates, pipeline, stepfunctions
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table

TABLE = "wistia-state-overlap"
D = date(2026, 4, 20)
NOW = datetime(2026, 4, 21, 0, 30, tzinfo=UTC)
LEASE = timedelta(hours=6)  # the store's default lease
MS = timedelta(milliseconds=1)


def _records(client: Any) -> DynamoDBRunStateStore:
    """Day items around D: every status, own and other runs, leases around NOW, far and near."""

    def store(claimed: datetime) -> DynamoDBRunStateStore:
        return DynamoDBRunStateStore(TABLE, client=client, clock=lambda: claimed)

    live, lapsed = NOW - timedelta(hours=1), NOW - LEASE - timedelta(hours=1)
    days = {n: D + timedelta(days=n) for n in range(-30, 8)}
    for n, run_id, claimed in [
        (-30, "other-a", live),  # another month
        (-4, "other-a", live),
        (-3, "other-a", live),
        (-2, "other-b", live),
        (-1, "other-c", NOW - LEASE),  # lease ends exactly at NOW: live only before NOW
        (0, "other-d", live),  # D itself: the claim's business, not the guard's
        (1, "me", live),  # this run's own
        (2, "other-e", live),
        (3, "other-f", live),
        (4, "other-g", NOW - LEASE - MS),  # lapsed a millisecond ago
        (5, "other-h", NOW - LEASE + MS),  # lapses a millisecond from now
        (6, "other-i", lapsed),
    ]:
        store(claimed).claim_day(days[n], run_id)
    store(live).mark_succeeded(days[2], "other-e", {"events": 1})  # lease kept, not RUNNING
    store(live).mark_failed(days[3], "other-f", "boom")
    store(live).advance_watermark(days[-30], "other-a")  # an item without a day
    return store(NOW)


def _scan(client: Any, day: date, lookback: int, run_id: str, now: datetime, limit: int | None):
    """The state's Scan, its ``.$`` values bound from the input and context, every page."""
    start, end = dates.window(day, lookback)
    bound = {
        "$.overlap_from": start.isoformat(),
        "$.overlap_to": (end + timedelta(days=lookback)).isoformat(),
        "$.logical_date": day.isoformat(),
        "$.claimed_at": dates.format_ts(now),
        "$$.Execution.Name": run_id,
    }
    params = stepfunctions.overlap_scan_parameters()
    params["TableName"] = TABLE
    params["ExpressionAttributeValues"] = {
        name: {"S": bound[value["S.$"]]} if "S.$" in value else value
        for name, value in params["ExpressionAttributeValues"].items()
    }
    if limit:
        params["Limit"] = limit
    found, pages = [], 0
    while True:
        page = client.scan(**params)
        pages += 1
        found += [item["day"]["S"] for item in page["Items"]]
        assert page["Count"] == len(page["Items"])
        if "LastEvaluatedKey" not in page:
            return found, pages
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_scan_filter_finds_what_conflicting_runs_finds(aws_env) -> None:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    store = _records(client)
    everything = store.list_days(D - timedelta(days=60), D + timedelta(days=60))
    assert len(everything) == 12

    seen: set[str] = set()
    empty = 0
    for day, lookback, run_id, now in itertools.product(
        (D, D + timedelta(days=3), D - timedelta(days=29)),
        (0, 1, 2, 3, 5),
        ("me", "other-b", "other-h"),
        (NOW, NOW - MS, NOW + MS),
    ):
        expected = sorted(
            r.day.isoformat()
            for r in pipeline.conflicting_runs(day, lookback, run_id, everything, now)
        )
        found, _ = _scan(client, day, lookback, run_id, now, limit=None)
        case = (day, lookback, run_id, now)
        assert sorted(found) == expected, case
        seen.update(found)
        empty += not found
    # Not vacuous: both verdicts, and the boundary items decided both ways across the cases.
    assert empty and seen
    for n in (-2, -1, 1, 5):  # |D'-D| = L at L=2, the lease boundary, own run, 1 ms left
        assert (D + timedelta(days=n)).isoformat() in seen, n
    for n in (2, 3, 4, 6):  # SUCCEEDED, FAILED, lapsed: never
        assert (D + timedelta(days=n)).isoformat() not in seen, n


def test_scan_pages_add_up_like_one_page(aws_env) -> None:
    """A page stops at 1 MB; followed like the state follows it, pages find the same days."""
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    _records(client)
    whole, pages = _scan(client, D, 5, "me", NOW, limit=None)
    paged, many = _scan(client, D, 5, "me", NOW, limit=2)
    assert pages == 1 and many > 1
    assert (
        sorted(paged) == sorted(whole) == ["2026-04-16", "2026-04-17", "2026-04-18", "2026-04-25"]
    )
