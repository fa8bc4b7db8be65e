"""The support table (``compat/mwaa-versions.toml``) agrees with what depends on it: each
version's constraints subset, the README's table and CI's compatibility job."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wistia_dev import mwaa_versions

REPO = Path(__file__).resolve().parents[2]


def test_default_is_the_projects_own_environment() -> None:
    row = mwaa_versions.get()
    assert row.airflow == mwaa_versions.default() and row.pinned == "uv.lock"
    assert row.constraints is None


@pytest.mark.parametrize(
    "version", [v for v in mwaa_versions.supported() if v != mwaa_versions.default()]
)
def test_constraints_subset_pins_the_tables_providers(version: str) -> None:
    row = mwaa_versions.get(version)
    text = (REPO / row.constraints).read_text()
    assert f"constraints-{version}/constraints-{row.python}.txt" in text  # names its source
    assert f"apache-airflow-providers-amazon=={row.amazon}\n" in text
    assert f"apache-airflow-providers-common-sql=={row.common_sql}\n" in text


def test_readme_lists_every_version() -> None:
    readme = (REPO / "README.md").read_text()
    for row in mwaa_versions.load().versions.values():
        assert f"| {row.airflow} | {row.amazon} | {row.common_sql} | {row.python} |" in readme


def test_ci_runs_the_compatibility_job() -> None:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "make test-compat" in runs
