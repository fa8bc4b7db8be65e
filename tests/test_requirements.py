"""requirements.txt is what MWAA installs: the Airflow constraint line first, then exact pins
that agree with the MWAA image's constraints and with the dev lock; ``make package`` writes it
for each supported MWAA Airflow version (``compat/mwaa-versions.toml``) with that version's
constraint line, and every version's pinned set (what ``make test-compat`` installs) holds the
same pins."""

import re
import tomllib
from pathlib import Path

import pytest

from wistia_dev import mwaa_versions
from wistia_dev.dist import build_dist

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
    assert first == mwaa_versions.get().constraint_line  # the default version's
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
    requirements = _pins(_requirement_lines()[1:])
    for name, version in requirements.items():
        # A package the constraints do not list (the report's chart libraries) installs at the
        # pin; one they list must be pinned to the constraints' version.
        if name in mwaa:
            assert mwaa[name] == version, f"{name}: requirements {version}, MWAA {mwaa[name]}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        name, version = dep.split("==")
        if name == "apache-airflow":  # the constraints file is *for* 3.3.1; it does not list itself
            assert version == "3.3.1" == mwaa_versions.default()
            continue
        expected = mwaa.get(name.lower()) or requirements.get(name.lower())
        assert expected == version, f"pyproject pins {dep}, MWAA has {mwaa.get(name.lower())}"


@pytest.mark.parametrize("version", mwaa_versions.supported())
def test_each_version_gets_its_constraint_line_and_tested_pins(version: str) -> None:
    template = (REPO / "requirements.txt").read_text()
    rendered = mwaa_versions.render_requirements(template, version)
    row = mwaa_versions.get(version)
    first, _, rest = rendered.partition("\n")
    assert (
        first
        == f'--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-{row.python}.txt"'
    )
    assert rest == template.partition("\n")[2]  # the pins and comments, unchanged
    assert mwaa_versions.requirements_version(rendered) == (version, row.python)
    # What MWAA installs on top of the image is what make test-compat tested on that version.
    tested = row.pins()
    for name, pinned in _pins(_requirement_lines()[1:]).items():
        assert tested.get(name) == pinned, (
            f"{version}: requirements {name}=={pinned}, tested {tested.get(name)}"
        )


@pytest.mark.parametrize("version", mwaa_versions.supported())
def test_each_pinned_set_has_the_tables_airflow_and_providers(version: str) -> None:
    row = mwaa_versions.get(version)
    pins = row.pins()
    assert pins["apache-airflow"] == row.airflow
    assert pins["apache-airflow-providers-amazon"] == row.amazon
    assert pins["apache-airflow-providers-common-sql"] == row.common_sql


@pytest.mark.parametrize(
    "version", [v for v in mwaa_versions.supported() if mwaa_versions.get(v).constraints]
)
def test_compiled_pinned_sets_are_current(version: str) -> None:
    """A compiled set was resolved from today's pyproject.toml and table (else: run
    ``python -m wistia_dev.mwaa_versions compile``, then ``make test-compat``)."""
    row = mwaa_versions.get(version)
    inputs = (REPO / "compat" / f"airflow-{version}.in").read_text().splitlines()
    assert [x for x in inputs if not x.startswith("#")] == mwaa_versions.requirement_inputs(version)
    pinned = (REPO / row.pinned).read_text()
    assert f"python -m wistia_dev.mwaa_versions compile {version}" in pinned
    # The constraints' pins won: every package of the set they list is at their version.
    constrained = mwaa_versions._read_pins((REPO / row.constraints).read_text())
    for name, pinned_version in row.pins().items():
        if name in constrained:
            assert pinned_version == constrained[name], name


def test_package_refuses_an_untested_version_before_building(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    with pytest.raises(mwaa_versions.UnsupportedVersion, match=r"2\.10\.3"):
        build_dist(out, airflow_version="2.10.3")
    assert not out.exists()


def test_deploy_accepts_only_the_packaged_tested_version() -> None:
    default = mwaa_versions.default()
    other = next(v for v in mwaa_versions.supported() if v != default)
    requirements = mwaa_versions.render_requirements((REPO / "requirements.txt").read_text(), other)
    assert mwaa_versions.check_deployable(requirements, None).airflow == other
    assert mwaa_versions.check_deployable(requirements, other).airflow == other
    with pytest.raises(
        mwaa_versions.UnsupportedVersion, match=f"packaged for MWAA Airflow {other}"
    ):
        mwaa_versions.check_deployable(requirements, default)
    with pytest.raises(mwaa_versions.UnsupportedVersion, match="not a version this project"):
        mwaa_versions.check_deployable(requirements, "2.10.3")
    untested = requirements.replace(f"constraints-{other}/", "constraints-3.1.9/")
    with pytest.raises(mwaa_versions.UnsupportedVersion, match=r"3\.1\.9"):
        mwaa_versions.check_deployable(untested, None)
    other_python = requirements.replace("constraints-3.12.txt", "constraints-3.11.txt")
    with pytest.raises(mwaa_versions.UnsupportedVersion, match=r"Python 3\.11"):
        mwaa_versions.check_deployable(other_python, None)


def test_deploy_script_refuses_an_untested_or_unasked_version_change(tmp_path: Path) -> None:
    """scripts/deploy.py: the stack gets the packaged version; another version needs asking."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "deploy_for_versions", REPO / "scripts" / "deploy.py"
    )
    deploy = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = deploy  # dataclasses resolve their module
    spec.loader.exec_module(deploy)
    from wistia_dev.dist import Dist

    default = mwaa_versions.default()
    other = next(v for v in mwaa_versions.supported() if v != default)
    requirements = tmp_path / "mwaa" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text(
        mwaa_versions.render_requirements((REPO / "requirements.txt").read_text(), other)
    )
    dist = Dist(tmp_path)

    def stack_on(version: str) -> dict:
        return {"Parameters": [{"ParameterKey": "MwaaAirflowVersion", "ParameterValue": version}]}

    def check(params: dict, stack: dict | None) -> str:
        deployment = deploy.Deployment("dev", tmp_path, params, session=None)
        return deployment._check_airflow_version(dist, stack)

    assert check({}, None) == other  # a new stack
    assert check({}, stack_on(other)) == other  # same version again
    assert check({"MwaaAirflowVersion": other}, stack_on(default)) == other  # asked: upgrade
    with pytest.raises(deploy.DeployError, match=f"runs MWAA Airflow {default}"):
        check({}, stack_on(default))  # not asked: refused, nothing changed
    with pytest.raises(deploy.DeployError, match="packaged for"):
        check({"MwaaAirflowVersion": default}, None)  # requirements for another version
    with pytest.raises(deploy.DeployError, match="not a version this project"):
        check({"MwaaAirflowVersion": "2.10.3"}, None)
