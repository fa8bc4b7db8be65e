"""docker-compose.yaml, checked statically (no Docker engine here): it parses, every image is
pinned, every path, Dockerfile and command it references exists, and its WISTIA_* variables are
the ones the project reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from wistia_pipeline import config

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
REQUIRED_SERVICES = {
    "postgres",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "wistia-simulator",
    "awslocal",
}
PINNED = re.compile(r"^[\w./-]+:\d+(\.\d+)+[\w.-]*$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def known_env_vars() -> set[str]:
    """WISTIA_* variables the code reads (config's one table of them)."""
    return set(config.ENV_NAMES)


def test_services(compose: dict) -> None:
    assert set(compose["services"]) >= REQUIRED_SERVICES


def test_images_pinned(compose: dict) -> None:
    images = []
    for name, svc in compose["services"].items():
        assert "image" in svc or "build" in svc, name
        if "build" in svc:
            dockerfile = REPO / svc["build"].get("context", ".") / svc["build"]["dockerfile"]
            assert dockerfile.is_file(), dockerfile
            images += re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M)
        else:
            images.append(svc["image"])
    assert images
    for image in images:
        assert PINNED.match(image), f"{image} is not pinned to a version"
        assert not image.endswith(":latest")
    airflow = (REPO / "docker" / "airflow.Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.1-" in airflow  # MWAA's Airflow version


def test_paths_and_commands_exist(compose: dict) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} missing"
        command = svc.get("command") or []
        if command[:2] == ["python", "-m"]:
            assert (REPO / "include" / command[2] / "__main__.py").is_file(), name
    # The Airflow containers mount exactly what the DAG imports and runs.
    for path in (
        "dags/wistia_daily.py",
        "plugins/wistia_airflow/operators.py",
        "glue_scripts/wistia_silver.py",
        "glue_scripts/wistia_gold.py",
    ):
        assert (REPO / path).is_file(), path


def test_env_vars_are_the_projects(compose: dict) -> None:
    known = known_env_vars()
    used = set()
    for svc in compose["services"].values():
        env = svc.get("environment") or {}
        used |= {k for k in env if k.startswith("WISTIA_")}
    assert used, "the Airflow services must configure the pipeline"
    assert used <= known, f"unknown WISTIA_* variables: {sorted(used - known)}"
    text = COMPOSE.read_text()
    referenced = set(re.findall(r"\$\{(WISTIA_[A-Z_]+)", text))
    assert referenced <= known
    # Secrets have no defaults in the file: they must come from the user's environment.
    assert "${WISTIA_PII_HASH_KEY:?" in text
    assert "${AIRFLOW_JWT_SECRET:?" in text


def test_dockerfile_pins_match_the_lock() -> None:
    """The images install the versions uv.lock pins (one set of versions everywhere)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    pins = []
    for dockerfile in (REPO / "docker").glob("*.Dockerfile"):
        pins += re.findall(
            r"([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==([0-9][\w.]*)", dockerfile.read_text()
        )
    assert pins
    for name, version in pins:
        assert locked.get(name.lower().replace("_", "-")) == version, (name, version)
