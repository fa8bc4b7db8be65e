"""One checks adapter per target: Athena through the Amazon provider, or DuckDB locally.

``get_adapter`` is called inside ``execute()``; the modules behind it import their heavy
dependencies (the provider's Athena hook and boto3, or DuckDB) only then.
"""

from __future__ import annotations

from wistia_airflow.adapters.base import Adapter, CheckOutcome, ChecksFailed
from wistia_pipeline.config import Settings
from wistia_pipeline.pipeline import Resources

__all__ = ["Adapter", "CheckOutcome", "ChecksFailed", "get_adapter"]


def get_adapter(settings: Settings, resources: Resources) -> Adapter:
    if settings.target == "local":
        from wistia_airflow.adapters.local import LocalAdapter

        return LocalAdapter(settings, resources)
    if settings.target == "aws":
        from wistia_airflow.adapters.aws import AwsAdapter

        return AwsAdapter(settings, resources)
    raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")
