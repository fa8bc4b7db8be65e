"""The daily report as a Lambda: what the Step Functions twin's ``Report`` state invokes.

Event: ``{"logical_date": "YYYY-MM-DD", "run_id": "...", "lookback_days": 2}``, sent after
``MarkSucceeded`` and after ``MarkFailed``: the day's status comes from the run-state table,
which that state has just written (SUCCEEDED: the numbers; FAILED: a status page with the
recorded error). A caller that knows better may add ``"published": false`` and ``"error"``.
Settings come from the function's environment (``WISTIA_TARGET=aws``, the lake, the Athena
database and workgroup, the state table, ``WISTIA_REPORT_SNS_TOPIC_ARN``/``_BASE_URL``).
Returns the report's URIs and status, its link and whether the notification was sent.

The zip (``wistia_dev.lambda_zip.REPORT_ZIP``) carries the chart libraries (altair,
vl-convert-python) and sqlglot: 34.0 MiB zipped, 98.3 MiB unzipped, under Lambda's 250 MB
unzipped limit (uploaded through S3, so the 50 MB direct-upload limit does not apply).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from wistia_pipeline.config import load_settings


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from wistia_pipeline.report import generate_report, report_link
    from wistia_pipeline.report.model import DayState

    settings = load_settings()
    day = date.fromisoformat(str(event["logical_date"]))
    lookback = event.get("lookback_days")
    state = None  # published: the run-state store's SUCCEEDED record
    if not event.get("published", True):
        error = event.get("error")
        state = DayState(
            status="failed",
            run_id=event.get("run_id"),
            error=error if isinstance(error, str) else json.dumps(error, default=str),
        )
    result = generate_report(
        settings, day, lookback_days=None if lookback is None else int(lookback), state=state
    )
    out = {**result.as_dict(), "link": report_link(settings, result.report_uri), "notified": False}
    if settings.report_topic_arn:
        import boto3

        published = result.status == "published"
        boto3.client("sns").publish(
            TopicArn=settings.report_topic_arn,
            Subject=f"Wistia daily report {day}{'' if published else ' - NOT published'}"[:100],
            Message=json.dumps(
                {
                    "run_id": event.get("run_id"),
                    "data_day": day.isoformat(),
                    "status": result.status,
                    "report": out["link"],
                }
            ),
        )
        out["notified"] = True
    return out
