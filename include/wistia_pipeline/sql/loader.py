"""Where the SQL files live and how they are found at run time.

The SQL ships INSIDE this package (``wistia_pipeline/sql/files/{ddl,checks,examples}/``), so
the same lookup works from the repo checkout, from the installed wheel in ``.venv`` and from
MWAA's unpacked ``plugins.zip`` (which carries ``wistia_pipeline/`` at its root). Files are
read through :mod:`importlib.resources`, so even a zipped package (zipimport) can read them;
only :func:`sql_root` needs a real directory.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

KINDS = ("ddl", "checks", "examples")


class SqlNotFound(LookupError):
    """No SQL file with that kind/name."""


def _files() -> Traversable:
    return resources.files(__package__).joinpath("files")


def sql_root() -> Path:
    """The directory holding ``ddl/``, ``checks/`` and ``examples/`` (a real filesystem path)."""
    root = _files()
    path = Path(str(root))
    if not path.is_dir():
        raise SqlNotFound(
            f"SQL files are not on the filesystem ({root!r}); read them with load_sql() instead"
        )
    return path


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def list_queries(kind: str) -> list[str]:
    """Names (file stems, sorted) of the SQL files of ``kind`` (``ddl``, ``checks``, ``examples``).

    DDL names sort in execution order (database first, then tables).
    """
    _check_kind(kind)
    folder = _files().joinpath(kind)
    return sorted(
        entry.name[: -len(".sql")]
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".sql")
    )


def load_sql(kind: str, name: str) -> str:
    """The raw (unrendered) template text of ``<kind>/<name>.sql``."""
    _check_kind(kind)
    if name.endswith(".sql"):
        name = name[: -len(".sql")]
    if name not in list_queries(kind):
        raise SqlNotFound(f"no {kind} query named {name!r}; available: {list_queries(kind)}")
    return _files().joinpath(kind, f"{name}.sql").read_text(encoding="utf-8")


def find_query(name: str) -> tuple[str, str]:
    """Resolve ``name`` (``examples/x``, ``checks/x``, ``ddl/x`` or a bare unique name) to
    ``(kind, name)``."""
    if name.endswith(".sql"):
        name = name[: -len(".sql")]
    if "/" in name:
        kind, _, stem = name.partition("/")
        _check_kind(kind)
        load_sql(kind, stem)  # raises SqlNotFound with the available names
        return kind, stem
    matches = [kind for kind in KINDS if name in list_queries(kind)]
    if not matches:
        raise SqlNotFound(f"no query named {name!r}; see --list")
    if len(matches) > 1:
        raise SqlNotFound(f"{name!r} is ambiguous ({matches}); prefix it with its kind")
    return matches[0], name
