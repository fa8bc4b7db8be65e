"""The one description of the daily pipeline, shared by the Airflow DAG and the Step Functions twin.

Everything both orchestrators must agree on lives here and nowhere else: the steps and their
task ids, the processing window of a data day, the ingestion Lambda payload, the Glue job
arguments and the gold tables the run publishes. Resource names and knobs are configuration
(:mod:`wistia_pipeline.config`).

Stdlib only: the DAG file imports this module at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wistia_pipeline.dates import range_window
from wistia_pipeline.dates import window as window  # re-exported: [D - L, D] of a daily run

# Re-exported: the DAG's stream param and Assets (each listed once, in ``streams``).
from wistia_pipeline.streams import ALL_STREAMS as ALL_STREAMS
from wistia_pipeline.streams import GOLD_TABLES as GOLD_TABLES
from wistia_pipeline.streams import select

DAG_ID = "wistia_daily"


@dataclass(frozen=True)
class Step:
    """One step of the run: its Airflow task id / Step Functions state name and what it does."""

    task_id: str
    state_name: str
    kind: str  # "state" | "lambda" | "glue" | "checks" | "publish" | "report"
    doc: str


CLAIM = Step("claim_day", "ClaimDay", "state", "Claim day D in the run-state store (RUNNING).")
INGEST = Step("ingest", "Ingest", "lambda", "Ingest [D-L, D] from the Wistia API to bronze.")
SILVER = Step("silver", "Silver", "glue", "Bronze -> silver for the window, staged (unpublished).")
GOLD = Step("gold", "Gold", "glue", "Silver -> gold for the window, staged (unpublished).")
CHECKS = Step("checks", "Checks", "checks", "Data checks on the staged window (Athena / DuckDB).")
PUBLISH = Step(
    "publish",
    "Publish",
    "publish",
    "Publish the checked stage (one manifest PUT per partition), advance the watermark to D.",
)
MARK_FAILED = Step("mark_failed", "MarkFailed", "state", "Teardown: mark D FAILED with the error.")
# After the main line, not in STEPS (the Step Functions twin is built from STEPS): the daily
# report, a teardown of claim_day downstream of publish, so it runs whether or not D was
# published, and its own failure never fails the run nor un-publishes D.
REPORT = Step(
    "report",
    "Report",
    "report",
    "Render D's HTML report to <lake>/reports/wistia/ (a status page if D was not published).",
)

# The main line, in order; MARK_FAILED is the failure handler of every step after CLAIM.
STEPS: tuple[Step, ...] = (CLAIM, INGEST, SILVER, GOLD, CHECKS, PUBLISH)
GLUE_STEPS: tuple[Step, ...] = (SILVER, GOLD)

# The Glue job entry points (glue_scripts/<file>), by step task id.
GLUE_SCRIPTS: Mapping[str, str] = {"silver": "wistia_silver.py", "gold": "wistia_gold.py"}


def conflicting_runs(
    day: date,
    lookback_days: int,
    run_id: str,
    neighbours: Sequence[Any],
    now: datetime,
    first_day: date | None = None,
) -> list[Any]:
    """Live runs of other days whose window overlaps the run of ``[D1, D]``'s ``[D1 - L, D]``.

    A day ``D'`` RUNNING by another run means that run's window holds ``[D' - L, D']``; it
    overlaps ours exactly when ``D1 - L <= D' <= D + L``. ``neighbours`` are run-state records
    (``DayRun``) of the days around the range; ``first_day`` None is the daily run (``D1 = D``).
    The days of the range itself are left to the claim (it refuses them as already claimed).
    """
    first = day if first_day is None else first_day
    return [
        other
        for other in neighbours
        if not first <= other.day <= day
        and (first - other.day).days <= lookback_days
        and (other.day - day).days <= lookback_days
        and getattr(other.status, "value", other.status) == "RUNNING"
        and other.run_id != run_id
        and other.lease_expires_at > now
    ]


def check_streams(streams: Sequence[str] | None) -> list[str]:
    """Validate a stream selection; None or empty means all streams."""
    return select(streams or ALL_STREAMS)


def lambda_payload(
    day: date,
    lookback_days: int,
    streams: Sequence[str] | None,
    run_id: str,
    first_day: date | None = None,
) -> dict[str, object]:
    """The ingestion Lambda event (docs/architecture.md, "Lambda payload").

    ``day`` is the last data day ``D2`` of the run; a range run (``first_day`` ``D1`` before
    it) adds ``range_start``, so the daily payload stays what it was.
    """
    first = day if first_day is None else first_day
    range_window(first, day, lookback_days)  # validates the range and lookback_days
    if not run_id:
        raise ValueError("run_id must be non-empty")
    payload: dict[str, object] = {
        "logical_date": day.isoformat(),
        "lookback_days": lookback_days,
        "streams": check_streams(streams),
        "run_id": run_id,
    }
    if first < day:
        payload["range_start"] = first.isoformat()
    return payload


def glue_job_args(
    start: date,
    end: date,
    lake_uri: str,
    run_id: str,
    pii_secret_id: str | None = None,
    max_reject_share: float | None = None,
) -> dict[str, str]:
    """Arguments of the silver and gold jobs by name (same on both targets).

    ``run_id`` names the run's stage (``wistia_pipeline.publishing``): silver opens it, gold
    adds to it, publish checks it. Local ``run_glue_script`` takes them as is; Glue
    ``StartJobRun`` takes :func:`glue_arguments` of them (``--name`` keys).
    """
    if start > end:
        raise ValueError(f"window start {start} is after end {end}")
    if not lake_uri:
        raise ValueError("lake_uri must be non-empty")
    if not run_id:
        raise ValueError("run_id must be non-empty")
    args = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "lake_uri": lake_uri.rstrip("/"),
        "run_id": run_id,
    }
    if pii_secret_id:
        args["pii_secret_id"] = pii_secret_id
    if max_reject_share is not None:
        args["max_reject_share"] = repr(float(max_reject_share))
    return args


def glue_arguments(args: Mapping[str, str]) -> dict[str, str]:
    """Glue ``StartJobRun`` ``Arguments``: the job arguments with ``--`` prefixed names."""
    return {f"--{name}": value for name, value in args.items()}


def job_args_from_glue_arguments(arguments: Mapping[str, str]) -> dict[str, str]:
    """The inverse of :func:`glue_arguments`, for running a job's script outside Glue."""
    bad = [name for name in arguments if not name.startswith("--") or len(name) < 3]
    if bad:
        raise ValueError(f"Glue arguments must be named --<name>, got {bad}")
    return {name[2:]: value for name, value in arguments.items()}
