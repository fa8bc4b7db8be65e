"""The twin's JSONata ``Prepare`` state, evaluated with the reference JSONata implementation.

moto has no JSONata, so ``test_twin.py`` skips ``Prepare``. Here its ``Output`` expression (from
:func:`stepfunctions.build_definition` and from the committed ASL file) runs in node with the npm
``jsonata`` package at the version Step Functions documents (2.0.6, pinned in package.json),
with ``$states`` bound the way Step Functions binds it, after the ``DefinitionSubstitutions``
CloudFormation applies (``LookbackDays``: the stack's parameter, the project default here).
Expectations come from the pipeline's own code (streams, default lookback, lease length) and
from the DynamoDB store's timestamp
formatter: a lease the twin writes and one the Airflow DAG writes must compare as strings the way
they compare as times (``CLAIM_CONDITION``: ``lease_expires_at < :now``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from wistia_pipeline import dates, pipeline, stepfunctions
from wistia_pipeline.config import DEFAULT_LOOKBACK_DAYS
from wistia_pipeline.state.base import DEFAULT_LEASE_SECONDS, lease_until, now_ms

# Step Functions' context timestamps: ISO-8601 UTC with milliseconds, except that a whole second
# drops the fraction ("...:06Z", not "...:06.000Z"): Java's Instant.toString.
ENTERED = "2026-04-21T00:30:07.250Z"
START = "2026-04-21T00:30:05.123Z"
ALL_KEYS = {
    "logical_date",
    "range_start",
    "lookback_days",
    "streams",
    "claimed_at",
    "lease_expires_at",
    "overlap_from",
    "overlap_to",
}


def _prepare_output(definition: dict[str, Any], lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> str:
    """Prepare's JSONata, from ``definition`` rendered as CloudFormation would deploy it."""
    values = {name: f"sub-{name}" for name in stepfunctions.SUBSTITUTIONS}
    values["LookbackDays"] = str(lookback_days)
    definition = json.loads(stepfunctions.render(definition, values))
    state = definition["States"]["Prepare"]
    assert state["Type"] == "Pass" and state["QueryLanguage"] == "JSONata"
    text = state["Output"].strip()
    assert text.startswith("{%") and text.endswith("%}"), text
    return text[2:-2].strip()


@pytest.fixture(scope="module", params=["generated", "committed"])
def expression(request: pytest.FixtureRequest) -> str:
    """The Prepare expression, from build_definition() and from the committed ASL file."""
    if request.param == "generated":
        return _prepare_output(stepfunctions.build_definition())
    committed = stepfunctions.output_dir() / stepfunctions.ASL_FILE
    return _prepare_output(json.loads(committed.read_text()))


def _bounds(day: date | str, lookback_days: int) -> dict[str, str]:
    """The neighbour days the overlap guard reads: D - L and D + L (pipeline.conflicting_runs)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    start, end = dates.window(day, lookback_days)
    return {"overlap_from": start.isoformat(), "overlap_to": (end + (end - start)).isoformat()}


def _claim(entered: str) -> dict[str, str]:
    """What the DynamoDB store writes for a claim at ``entered`` (its own formatter)."""
    now = now_ms(lambda: dates.parse_ts(entered))
    return {
        "claimed_at": dates.format_ts(now),
        "lease_expires_at": dates.format_ts(lease_until(now, DEFAULT_LEASE_SECONDS)),
    }


@pytest.mark.parametrize(
    ("start", "day_before"),
    [
        (START, date(2026, 4, 20)),
        ("2026-04-21T00:00:00.001Z", date(2026, 4, 20)),  # just after midnight
        ("2026-04-21T00:00:00Z", date(2026, 4, 20)),  # midnight exactly (no fraction)
        ("2026-04-20T23:59:59.999Z", date(2026, 4, 19)),  # just before midnight
        ("2026-01-01T00:00:01Z", date(2025, 12, 31)),  # month and year boundary
        ("2026-03-01T00:05:00.000Z", date(2026, 2, 28)),
        ("2028-03-01T00:05:00.000Z", date(2028, 2, 29)),  # leap year
    ],
)
def test_empty_input_gets_every_default(
    evaluate, expression: str, start: str, day_before: date
) -> None:
    entered = dates.format_ts(dates.parse_ts(start) + timedelta(milliseconds=40))
    out = evaluate(expression, {}, start, entered)
    assert out == {
        "logical_date": day_before.isoformat(),
        "range_start": day_before.isoformat(),  # the daily run: D1 = D2
        "lookback_days": DEFAULT_LOOKBACK_DAYS,
        "streams": list(pipeline.ALL_STREAMS),
        **_claim(entered),
        **_bounds(day_before, DEFAULT_LOOKBACK_DAYS),
    }
    # D is the UTC day before the execution's start, whatever the start's time of day.
    yesterday = dates.parse_ts(start).date() - timedelta(days=1)
    assert date.fromisoformat(out["logical_date"]) == yesterday


@pytest.mark.parametrize(
    "given",
    [
        {"logical_date": "2026-03-15"},
        {"lookback_days": 0},  # 0 is a value, not "missing"
        {"lookback_days": 7},
        {"streams": ["events"]},  # a one-element list stays a list
        {"streams": ["medias", "visitors"]},
        {"logical_date": "2025-12-31", "lookback_days": 0, "streams": ["analytics"]},
        # Half the claim given: Prepare runs (NeedsPrepare wants both) and sets both itself.
        {"logical_date": "2026-03-15", "claimed_at": "2000-01-01T00:00:00.000Z"},
    ],
    ids=lambda given: ",".join(f"{k}={v}" for k, v in given.items()),
)
def test_partial_input_keeps_what_the_caller_gave(
    evaluate, expression: str, given: dict[str, Any]
) -> None:
    out = evaluate(expression, given, START, ENTERED)
    defaults = {
        "logical_date": "2026-04-20",
        "lookback_days": DEFAULT_LOOKBACK_DAYS,
        "streams": list(pipeline.ALL_STREAMS),
    }
    kept = {k: v for k, v in given.items() if k in defaults}
    merged = {**defaults, **kept}
    bounds = _bounds(merged["logical_date"], merged["lookback_days"])
    daily = {"range_start": merged["logical_date"]}
    assert out == {**merged, **daily, **_claim(ENTERED), **bounds}
    assert set(out) == ALL_KEYS


@pytest.mark.parametrize(
    "entered",
    [
        ENTERED,
        "2026-04-21T00:30:07Z",  # a whole second: Step Functions drops the ".000"
        "2026-04-21T00:30:07.100Z",
        "2026-12-31T21:00:00Z",  # the lease crosses into the next year
    ],
)
def test_claim_times_are_written_in_the_stores_format(
    evaluate, expression: str, entered: str
) -> None:
    """claimed_at = EnteredTime and lease = claimed_at + the lease, both exactly as the store
    formats them (``format_ts``: fixed width ``YYYY-MM-DDTHH:MM:SS.sssZ``)."""
    out = evaluate(expression, {}, START, entered)
    claimed, lease = dates.parse_ts(out["claimed_at"]), dates.parse_ts(out["lease_expires_at"])
    assert claimed == dates.parse_ts(entered)
    assert lease - claimed == timedelta(seconds=DEFAULT_LEASE_SECONDS)
    assert out["claimed_at"] == dates.format_ts(claimed)
    assert out["lease_expires_at"] == dates.format_ts(lease)
    assert len(out["claimed_at"]) == len(out["lease_expires_at"]) == 24


def test_twin_and_dag_timestamps_order_as_strings_like_as_times(evaluate, expression: str) -> None:
    """The claim condition compares ``lease_expires_at < :now`` as strings: with leases written by
    the DAG (the store) and by the twin (Prepare) in one table, string order must be time order."""
    base = datetime(2026, 4, 21, 0, 30, 7, tzinfo=UTC)
    instants = [base + timedelta(milliseconds=ms) for ms in (-1, 0, 1, 500, 999, 1000)]
    written: list[tuple[datetime, str]] = []
    for instant in instants:
        # Step Functions' rendering of the instant, as Prepare receives it.
        entered = dates.format_ts(instant).replace(".000Z", "Z")
        out = evaluate(expression, {}, START, entered)
        written.append((instant, out["claimed_at"]))
        written.append(
            (instant + timedelta(seconds=DEFAULT_LEASE_SECONDS), out["lease_expires_at"])
        )
        written.append((instant, dates.format_ts(instant)))  # the DAG's claim at the same instant
    by_time = sorted(written, key=lambda pair: (pair[0], pair[1]))
    by_text = sorted(written, key=lambda pair: (pair[1], pair[0]))
    assert [t for t, _ in by_text] == [t for t, _ in by_time]
    # Same instant, same text: the twin and the store agree byte for byte.
    assert len({text for _, text in written}) == len({t for t, _ in written})


@pytest.mark.parametrize(
    ("day", "lookback", "expected"),
    [
        ("2026-04-20", 2, ("2026-04-18", "2026-04-22")),
        ("2026-04-20", 0, ("2026-04-20", "2026-04-20")),  # no neighbours: the guard finds none
        ("2026-03-01", 1, ("2026-02-28", "2026-03-02")),  # month boundary
        ("2028-03-01", 1, ("2028-02-29", "2028-03-02")),  # leap day
        ("2026-01-01", 2, ("2025-12-30", "2026-01-03")),  # year boundary, backwards
        ("2026-12-31", 3, ("2026-12-28", "2027-01-03")),  # year boundary, forwards
        ("2026-04-20", 45, ("2026-03-06", "2026-06-04")),  # a long lookback over two months
    ],
)
def test_neighbour_bounds_are_d_minus_and_plus_lookback(
    evaluate, expression: str, day: str, lookback: int, expected: tuple[str, str]
) -> None:
    """``overlap_from``/``overlap_to`` bound the days whose window overlaps D's (|D' - D| <= L),
    the days the DAG's claim_day reads with ``list_days`` before claiming."""
    out = evaluate(expression, {"logical_date": day, "lookback_days": lookback}, START, ENTERED)
    assert (out["overlap_from"], out["overlap_to"]) == expected
    assert out == {**out, **_bounds(day, lookback)}


@pytest.mark.parametrize(
    ("first", "last", "lookback", "expected"),
    [
        ("2026-04-18", "2026-04-20", 2, ("2026-04-16", "2026-04-22")),
        ("2026-02-27", "2026-03-02", 1, ("2026-02-26", "2026-03-03")),  # over a month end
        ("2026-04-20", "2026-04-20", 2, ("2026-04-18", "2026-04-22")),  # the daily run
        ("2026-04-01", "2026-04-10", 0, ("2026-04-01", "2026-04-10")),
    ],
)
def test_a_range_keeps_its_start_and_bounds_d1_minus_and_d2_plus_lookback(
    evaluate, expression: str, first: str, last: str, lookback: int, expected: tuple[str, str]
) -> None:
    """A range [D1, D2] (``range_start``, ``logical_date``): the days whose window overlaps the
    run's [D1 - L, D2] are D1 - L .. D2 + L (pipeline.conflicting_runs with ``first_day``)."""
    given = {"range_start": first, "logical_date": last, "lookback_days": lookback}
    out = evaluate(expression, given, START, ENTERED)
    assert out == {**out, **given}
    assert (out["overlap_from"], out["overlap_to"]) == expected


def test_neighbour_bounds_follow_the_defaulted_day(evaluate, expression: str) -> None:
    """With no input, the bounds are around yesterday (UTC) with the default lookback."""
    out = evaluate(expression, {}, "2026-01-01T00:00:01Z", ENTERED)
    assert out["logical_date"] == "2025-12-31"
    assert out == {**out, **_bounds(date(2025, 12, 31), DEFAULT_LOOKBACK_DAYS)}


@pytest.mark.parametrize("lookback_days", [0, 5])
def test_default_lookback_is_the_stacks_parameter(evaluate, lookback_days: int) -> None:
    """The default L is ``${LookbackDays}`` (the stack's LookbackDays), not a baked number: the
    deployed value is the default, and a caller's lookback_days still wins."""
    committed = json.loads((stepfunctions.output_dir() / stepfunctions.ASL_FILE).read_text())
    assert "${LookbackDays}" in committed["States"]["Prepare"]["Output"]
    expression = _prepare_output(committed, lookback_days)
    out = evaluate(expression, {}, START, ENTERED)
    assert out["lookback_days"] == lookback_days
    assert out == {**out, **_bounds("2026-04-20", lookback_days)}
    given = evaluate(expression, {"lookback_days": 3}, START, ENTERED)
    assert given["lookback_days"] == 3
