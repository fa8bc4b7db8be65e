"""Local target: the data checks on DuckDB over the local lake."""

from __future__ import annotations

from datetime import date

from wistia_airflow.adapters.base import Adapter, CheckOutcome
from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings


class LocalAdapter(Adapter):
    def __init__(self, settings: Settings, resources: pipeline.Resources) -> None:
        self.settings = settings
        self.resources = resources

    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        from wistia_pipeline.sql import run_checks_local

        results = run_checks_local(
            self.settings.lake_uri,
            start,
            end,
            tolerance=self.resources.check_tolerance,
            database=self.resources.athena_database,
        )
        return [CheckOutcome(r.check_name, int(r.failures), str(r.detail)) for r in results]
