"""The one description of the daily pipeline, shared by the Airflow DAG and the Step Functions twin.

Everything both orchestrators must agree on lives here and nowhere else: the steps and their
task ids, the processing window of a data day, the ingestion Lambda payload, the Glue job
arguments, the gold tables the run publishes, and the names of the AWS resources (resolved at
run time from one source: the environment, or on MWAA Airflow Variables of the same name).

Stdlib only: the DAG file imports this module at parse time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

DAG_ID = "wistia_daily"

# Streams the ingestion Lambda understands (docs/architecture.md, "Bronze").
ALL_STREAMS: tuple[str, ...] = ("medias", "media_by_date", "events", "visitors", "analytics")

# Gold tables a successful run publishes (declared as Airflow Assets by the DAG).
GOLD_TABLES: tuple[str, ...] = ("fact_media_daily", "dim_media", "reconciliation")


@dataclass(frozen=True)
class Step:
    """One step of the run: its Airflow task id / Step Functions state name and what it does."""

    task_id: str
    state_name: str
    kind: str  # "state" | "lambda" | "glue" | "checks"
    doc: str


CLAIM = Step("claim_day", "ClaimDay", "state", "Claim day D in the run-state store (RUNNING).")
INGEST = Step("ingest", "Ingest", "lambda", "Ingest [D-L, D] from the Wistia API to bronze.")
SILVER = Step("silver", "Silver", "glue", "Bronze -> silver for the window (partition overwrite).")
GOLD = Step("gold", "Gold", "glue", "Silver -> gold for the window (partition overwrite).")
CHECKS = Step("checks", "Checks", "checks", "Data checks over the window (Athena / DuckDB).")
PUBLISH = Step("publish", "Publish", "state", "Advance the watermark to D, mark D SUCCEEDED.")
MARK_FAILED = Step("mark_failed", "MarkFailed", "state", "Teardown: mark D FAILED with the error.")

# The main line, in order; MARK_FAILED is the failure handler of every step after CLAIM.
STEPS: tuple[Step, ...] = (CLAIM, INGEST, SILVER, GOLD, CHECKS, PUBLISH)
GLUE_STEPS: tuple[Step, ...] = (SILVER, GOLD)

# The Glue job entry points (glue_scripts/<file>), by step task id.
GLUE_SCRIPTS: Mapping[str, str] = {"silver": "wistia_silver.py", "gold": "wistia_gold.py"}


def window(day: date, lookback_days: int) -> tuple[date, date]:
    """The processing window ``[D - L, D]`` of data day ``D`` (inclusive)."""
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 0:
        raise ValueError(f"lookback_days must be an int >= 0, got {lookback_days!r}")
    return day - timedelta(days=lookback_days), day


def conflicting_runs(
    day: date, lookback_days: int, run_id: str, neighbours: Sequence[Any], now: datetime
) -> list[Any]:
    """Live runs of other days whose window overlaps ``[D - L, D]`` (|D' - D| <= L).

    ``neighbours`` are run-state records (``DayRun``) of the days around ``D``. Airflow 3
    backfills have their own ``max_active_runs``, so ``max_active_runs=1`` alone does not stop
    two runs from rewriting the same partitions at once; claiming refuses then.
    """
    return [
        other
        for other in neighbours
        if other.day != day
        and abs((other.day - day).days) <= lookback_days
        and getattr(other.status, "value", other.status) == "RUNNING"
        and other.run_id != run_id
        and other.lease_expires_at > now
    ]


def check_streams(streams: Sequence[str] | None) -> list[str]:
    """Validate a stream selection; None or empty means all streams."""
    if not streams:
        return list(ALL_STREAMS)
    unknown = sorted(set(streams) - set(ALL_STREAMS))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; known: {list(ALL_STREAMS)}")
    return [s for s in ALL_STREAMS if s in set(streams)]


def lambda_payload(
    day: date, lookback_days: int, streams: Sequence[str] | None, run_id: str
) -> dict[str, object]:
    """The ingestion Lambda event (docs/architecture.md, "Lambda payload")."""
    window(day, lookback_days)  # validates lookback_days
    if not run_id:
        raise ValueError("run_id must be non-empty")
    return {
        "logical_date": day.isoformat(),
        "lookback_days": lookback_days,
        "streams": check_streams(streams),
        "run_id": run_id,
    }


def glue_job_args(
    start: date,
    end: date,
    lake_uri: str,
    pii_secret_id: str | None = None,
    max_reject_share: float | None = None,
) -> dict[str, str]:
    """Arguments of the silver and gold jobs by name (same on both targets).

    Local ``run_glue_script`` takes them as is; Glue ``StartJobRun`` takes
    :func:`glue_arguments` of them (``--name`` keys).
    """
    if start > end:
        raise ValueError(f"window start {start} is after end {end}")
    if not lake_uri:
        raise ValueError("lake_uri must be non-empty")
    args = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "lake_uri": lake_uri.rstrip("/"),
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


# --- resource names and run knobs: one source, resolved at run time ---------------------------


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    doc: str


RESOURCE_SETTINGS: Mapping[str, Setting] = {
    "lambda_function": Setting("WISTIA_LAMBDA_FUNCTION", "wistia-ingest", "ingestion Lambda"),
    "silver_job": Setting("WISTIA_GLUE_SILVER_JOB", "wistia-silver", "Glue job of the silver step"),
    "gold_job": Setting("WISTIA_GLUE_GOLD_JOB", "wistia-gold", "Glue job of the gold step"),
    "athena_database": Setting("WISTIA_ATHENA_DATABASE", "wistia", "Glue/Athena database"),
    "athena_workgroup": Setting("WISTIA_ATHENA_WORKGROUP", "wistia", "Athena workgroup"),
    "athena_output": Setting(
        "WISTIA_ATHENA_OUTPUT", None, "s3:// results location (unset: the workgroup's)"
    ),
    "aws_conn_id": Setting("WISTIA_AWS_CONN_ID", "aws_default", "Airflow AWS connection id"),
    "glue_deferrable": Setting(
        "WISTIA_GLUE_DEFERRABLE", "true", "wait for Glue in the triggerer (false: poll in the task)"
    ),
    "poll_seconds": Setting("WISTIA_AWS_POLL_SECONDS", "30", "Glue/Athena status poll interval"),
    "check_tolerance": Setting(
        "WISTIA_CHECK_TOLERANCE", "0.0", "allowed reconciliation gap share in the checks"
    ),
    "max_reject_share": Setting(
        "WISTIA_MAX_REJECT_SHARE", None, "silver's reject share limit (unset: the job's default)"
    ),
    "alert_topic_arn": Setting(
        "WISTIA_ALERT_SNS_TOPIC_ARN", None, "SNS topic for failure notifications (unset: off)"
    ),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Resources:
    lambda_function: str
    silver_job: str
    gold_job: str
    athena_database: str
    athena_workgroup: str
    athena_output: str | None
    aws_conn_id: str
    glue_deferrable: bool
    poll_seconds: float
    check_tolerance: float
    max_reject_share: float | None
    alert_topic_arn: str | None

    def glue_job(self, step_task_id: str) -> str:
        try:
            return {"silver": self.silver_job, "gold": self.gold_job}[step_task_id]
        except KeyError:
            raise ValueError(f"no Glue job for step {step_task_id!r}") from None


Lookup = Callable[[str], "str | None"]


def env_lookup(env: Mapping[str, str] | None = None) -> Lookup:
    source = os.environ if env is None else env
    return lambda name: source.get(name) or None


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def resolve_resources(lookup: Lookup | None = None) -> Resources:
    """Resolve every AWS name/knob through ``lookup`` (default: the environment).

    Called by tasks at run time, never at DAG parse time.
    """
    lookup = lookup or env_lookup()
    raw = {key: (lookup(s.env) or s.default) for key, s in RESOURCE_SETTINGS.items()}
    deferrable = (raw["glue_deferrable"] or "").strip().lower()
    if deferrable not in _TRUE | _FALSE:
        raise ValueError(f"WISTIA_GLUE_DEFERRABLE must be true/false, got {deferrable!r}")
    max_reject = raw["max_reject_share"]
    return Resources(
        lambda_function=str(raw["lambda_function"]),
        silver_job=str(raw["silver_job"]),
        gold_job=str(raw["gold_job"]),
        athena_database=str(raw["athena_database"]),
        athena_workgroup=str(raw["athena_workgroup"]),
        athena_output=raw["athena_output"],
        aws_conn_id=str(raw["aws_conn_id"]),
        glue_deferrable=deferrable in _TRUE,
        poll_seconds=_float("WISTIA_AWS_POLL_SECONDS", str(raw["poll_seconds"])),
        check_tolerance=_float("WISTIA_CHECK_TOLERANCE", str(raw["check_tolerance"])),
        max_reject_share=_float("WISTIA_MAX_REJECT_SHARE", max_reject) if max_reject else None,
        alert_topic_arn=raw["alert_topic_arn"],
    )
