"""requirements.txt is what MWAA installs: the Airflow constraint line first, then exact pins
that agree with the MWAA image's constraints and with the dev lock."""

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MWAA_CONSTRAINTS = REPO.parent / "shared" / "reference" / "mwaa-3.3.1-airflow-constraints.txt"


def _requirement_lines() -> list[str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert match, f"requirements.txt line is not an exact pin: {line!r}"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_first_line_is_the_mwaa_airflow_constraint() -> None:
    first = (REPO / "requirements.txt").read_text().splitlines()[0]
    assert first.startswith("--constraint ")
    assert "constraints-3.3.1/constraints-3.12.txt" in first


def test_pins_match_the_lock() -> None:
    locked = {
        pkg["name"].lower(): pkg["version"]
        for pkg in tomllib.loads((REPO / "uv.lock").read_text())["package"]
    }
    for name, version in _pins(_requirement_lines()[1:]).items():
        assert locked.get(name) == version, (
            f"{name}: requirements {version}, uv.lock {locked.get(name)}"
        )


def test_pins_match_the_mwaa_image() -> None:
    if not MWAA_CONSTRAINTS.exists():
        pytest.skip(f"MWAA constraints reference not present at {MWAA_CONSTRAINTS}")
    mwaa = _pins(
        [
            line.strip()
            for line in MWAA_CONSTRAINTS.read_text().splitlines()
            if "==" in line and not line.startswith("#")
        ]
    )
    for name, version in _pins(_requirement_lines()[1:]).items():
        assert mwaa.get(name) == version, f"{name}: requirements {version}, MWAA {mwaa.get(name)}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        name, version = dep.split("==")
        if name == "apache-airflow":  # the constraints file is *for* 3.3.1; it does not list itself
            assert version == "3.3.1"
            continue
        assert mwaa.get(name.lower()) == version, (
            f"pyproject pins {dep}, MWAA has {mwaa.get(name.lower())}"
        )
