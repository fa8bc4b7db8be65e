"""Smoke-test a deployed environment: ``make smoke ENV=dev``.

    python scripts/smoke.py --env dev [--day YYYY-MM-DD] [--no-dag-run]

1. Invokes the ingestion Lambda synchronously for yesterday (UTC) with ``"dry_run": true``:
   it reads the Wistia token from Secrets Manager and fetches ``/medias`` page 1, writing
   nothing. Fails on a ``FunctionError`` or a non-200 status.
2. When the stack has an MWAA environment (``CreateMwaaEnvironment=true``), unpauses
   ``wistia_daily`` and triggers one small run of it through MWAA's ``InvokeRestApi`` (Airflow
   REST API, authorised by the caller's IAM identity, which needs ``airflow:InvokeRestApi``):
   data day = yesterday (the data interval ``[day, day + 1)`` is given explicitly), ``conf``
   ``{"lookback_days": 0, "streams": ["medias"]}`` (a few requests and one day's partitions,
   rebuilt from the newest bronze of every stream: no full production run), a run id
   ``smoke__<day>__<UTC stamp>`` and, as logical date, the trigger time. Airflow keeps one run
   per logical date, and the scheduled run of yesterday already holds yesterday 00:00 (the
   API's 409): the trigger time never collides with a scheduled run's midnight, and a 409 all
   the same (two smokes in one microsecond) is retried with a new stamp. Smoke does not wait
   for the run. Without an MWAA environment this part is skipped (and said so). The CLI
   equivalent, for reference:
   ``aws mwaa create-cli-token --name wistia-<env>`` then POST ``dags trigger wistia_daily`` to
   ``https://<webserver>/aws_mwaa/cli`` with the token as bearer.

Honours ``AWS_ENDPOINT_URL`` like every boto3 client. Exit code 0 only when every part that ran
succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError
from deploy import DeployError, stack_names, stack_outputs

DAG_ID = "wistia_daily"
# A small run: one day (no lookback), the media list only.
SMOKE_CONF = {"lookback_days": 0, "streams": ["medias"]}
TRIGGER_ATTEMPTS = 3


class SmokeError(RuntimeError):
    """A smoke check failed."""


def invoke_dry_run(lam: Any, function: str, day: date) -> dict[str, Any]:
    """Invoke the ingestion Lambda in dry-run mode; return its JSON summary."""
    run_id = f"smoke__{datetime.now(UTC):%Y%m%dT%H%M%S}"
    payload = {"logical_date": day.isoformat(), "run_id": run_id, "dry_run": True}
    response = lam.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload)
    )
    body = response["Payload"].read().decode("utf-8", errors="replace")
    if "FunctionError" in response:
        raise SmokeError(f"Lambda {function} failed ({response['FunctionError']}): {body[:2000]}")
    if response.get("StatusCode") != 200:
        raise SmokeError(f"Lambda {function} returned status {response.get('StatusCode')}")
    try:
        summary = json.loads(body)
    except ValueError:
        raise SmokeError(f"Lambda {function} returned a non-JSON payload: {body[:500]!r}") from None
    if not isinstance(summary, dict) or summary.get("dry_run") is not True:
        raise SmokeError(f"Lambda {function} did not answer a dry run: {body[:500]}")
    return summary


def run_request(day: date, now: datetime | None = None) -> dict[str, Any]:
    """The dagRuns POST body for data day ``day``: the run's data interval is ``[day, day+1)``
    (the DAG processes the interval's start), stated explicitly; the logical date is the
    trigger time ``now``, which no scheduled run holds (theirs are midnights), and the run id is
    unique per trigger, so smoke can run on every deploy (see the module doc)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "dag_run_id": f"smoke__{day.isoformat()}__{now:%Y%m%dT%H%M%S%fZ}",
        "logical_date": now.isoformat(),
        "data_interval_start": start.isoformat(),
        "data_interval_end": (start + timedelta(days=1)).isoformat(),
        "conf": dict(SMOKE_CONF),
    }


def invoke_rest_api(mwaa: Any, environment: str, **request: Any) -> tuple[int, Any]:
    """(Airflow's status, its JSON answer) of one InvokeRestApi call. MWAA answers an Airflow
    4xx / 5xx with RestApiClientException / RestApiServerException carrying both."""
    try:
        response = mwaa.invoke_rest_api(Name=environment, **request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("RestApiClientException", "RestApiServerException"):
            raise SmokeError(f"MWAA {environment}: {exc}") from None
        return int(exc.response.get("RestApiStatusCode") or 0), exc.response.get("RestApiResponse")
    return int(response.get("RestApiStatusCode") or 0), response.get("RestApiResponse")


def trigger_dag_run(mwaa: Any, environment: str, day: date) -> dict[str, Any]:
    """Unpause ``wistia_daily`` and trigger one small run through MWAA's InvokeRestApi."""
    status, answer = invoke_rest_api(
        mwaa, environment, Path=f"/dags/{DAG_ID}", Method="PATCH", Body={"is_paused": False}
    )
    if status != 200:
        raise SmokeError(f"MWAA {environment}: unpausing {DAG_ID} returned {status}: {answer}")
    for _attempt in range(TRIGGER_ATTEMPTS):
        status, answer = invoke_rest_api(
            mwaa, environment, Path=f"/dags/{DAG_ID}/dagRuns", Method="POST", Body=run_request(day)
        )
        if status != 409:  # 409: that run id or logical date exists; retry with a new stamp
            break
    if status not in (200, 201):
        raise SmokeError(f"MWAA {environment}: trigger returned {status}: {answer}")
    return answer or {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test a deployed Wistia environment.")
    parser.add_argument("--env", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument(
        "--day", type=date.fromisoformat, default=None, help="logical day (default yesterday)"
    )
    parser.add_argument("--no-dag-run", action="store_true", help="skip the MWAA DAG run")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    day = args.day or datetime.now(UTC).date() - timedelta(days=1)
    try:
        outputs = stack_outputs(session.client("cloudformation"), stack_names(args.env)[1])
        function = outputs["IngestFunctionName"]
        summary = invoke_dry_run(session.client("lambda"), function, day)
        print(f"ok  lambda {function} dry run for {day}: {json.dumps(summary)[:500]}")
        environment = outputs.get("MwaaEnvironmentName")
        if args.no_dag_run:
            print("skipped  MWAA DAG run (--no-dag-run)")
        elif not environment:
            print("skipped  MWAA DAG run: the stack has no MWAA environment")
        else:
            run = trigger_dag_run(session.client("mwaa"), environment, day)
            print(f"ok  MWAA {environment}: triggered {DAG_ID} run {run.get('dag_run_id', '?')}")
    except (SmokeError, DeployError) as exc:
        print(f"smoke failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
