"""One adapter per target behind the three steps that differ (ingest, Glue jobs, checks).

``get_adapter(target)`` is called inside ``execute()``; the modules behind it import their heavy
dependencies (provider hooks and boto3, or Spark and DuckDB) only then.
"""

from __future__ import annotations

from wistia_airflow.adapters.base import Adapter, CheckOutcome, ChecksFailed, GlueRun
from wistia_pipeline.config import Settings
from wistia_pipeline.pipeline import Resources

__all__ = ["Adapter", "CheckOutcome", "ChecksFailed", "GlueRun", "get_adapter"]


def get_adapter(settings: Settings, resources: Resources) -> Adapter:
    if settings.target == "local":
        from wistia_airflow.adapters.local import LocalAdapter

        return LocalAdapter(settings, resources)
    if settings.target == "aws":
        from wistia_airflow.adapters.aws import AwsAdapter

        return AwsAdapter(settings, resources)
    raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")
