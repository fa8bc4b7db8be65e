"""Development and build tooling of the repository: never shipped to AWS.

:mod:`wistia_dev.dist` builds every deployable artifact into ``dist/`` (``make package``);
:mod:`wistia_dev.local_runner` runs the DAG through ``dag.test()`` for the scripts and tests.
Both work on a checkout, which they find from this file's location.
"""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The checkout this package lives in (``dev/wistia_dev/__init__.py``, two levels down)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(f"{root} is not the project checkout; wistia_dev runs from one only")
    return root
