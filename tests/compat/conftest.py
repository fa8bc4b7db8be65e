"""The end-to-end tests' Airflow runner (one metadata DB per session, one subprocess per run)."""

from e2e.conftest import airflow_runner  # noqa: F401  (fixture)
