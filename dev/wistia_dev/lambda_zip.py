"""Build the Lambdas' deployment zips (part of ``python -m wistia_dev.dist``).

Two functions, one build (:class:`LambdaZip` says what differs):

- :data:`INGEST_ZIP` (``wistia_pipeline.lambda_handler.handler``): ``requests`` and its
  dependencies; the closure must not reach ``transforms/`` or ``sql/``;
- :data:`REPORT_ZIP` (``wistia_pipeline.report.lambda_handler.handler``, the twin's ``Report``
  state): altair, vl-convert-python and sqlglot (``wistia_pipeline.sql`` imports it) with their
  dependencies, and the package data the report reads (its SQL and Jinja templates, the
  project's Athena SQL); the closure must not reach ``transforms/``.

Each zip holds, at its root:

- the ``wistia_pipeline`` modules the handler imports, transitively (found by reading their
  ``import`` statements), plus the non-Python files of the packages reached; the build fails if
  that reaches an excluded subpackage or Spark code;
- the vendored packages, pinned to the versions in ``uv.lock``, for the Lambda runtime
  (Python 3.12, x86_64 manylinux wheels only). boto3 is provided by the runtime and is not
  included.

Vendored wheels are cached under ``build/lambda-vendor/<hash of the pins>/`` so repeated builds
do not download again. The zips are reproducible (written by :func:`wistia_dev.zips.write_zip`)
and checked against Lambda's 250 MB unzipped limit (:data:`UNZIPPED_LIMIT`).
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wistia_dev import repo_root
from wistia_dev.zips import PIPELINE_SOURCE, Entry, tree_entries, write_zip

HANDLER_MODULE = "wistia_pipeline.lambda_handler"
HANDLER = f"{HANDLER_MODULE}.handler"
PACKAGE = "wistia_pipeline"
EXCLUDED_SUBPACKAGES = frozenset({"transforms", "sql"})
VENDOR_ROOTS = ("requests",)
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
_SPARK_IMPORT = re.compile(r"^\s*(from|import)\s+pyspark\b", re.MULTILINE)
# Lambda's deployment package limits: 50 MB zipped for a direct upload (both zips go through
# S3, which lifts it) and 250 MB unzipped, which always applies.
ZIPPED_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024


@dataclass(frozen=True)
class LambdaZip:
    """What one Lambda's zip holds: its handler's module closure and the vendored packages.

    ``extra_pythons``: other CPython versions whose compiled extension modules are added next to
    the runtime's (a package's ``*.cpython-311-*.so`` beside its ``*.cpython-312-*.so``; the
    interpreter loads only its own). The report's jsonschema needs rpds-py, which has no
    pure-Python fallback, and the local AWS runs Lambda code on this venv's Python 3.11
    (docs/awslocal.md), so the zip deployed there is the one deployed to AWS.
    """

    name: str
    handler_module: str
    vendor_roots: tuple[str, ...]
    excluded: frozenset[str]
    extra_pythons: tuple[str, ...] = ()
    # Handlers of the other functions deployed from this zip (their closures ship too).
    other_handler_modules: tuple[str, ...] = ()

    @property
    def handler(self) -> str:
        return f"{self.handler_module}.handler"

    @property
    def entry_modules(self) -> tuple[str, ...]:
        return (self.handler_module, *self.other_handler_modules)


# The publish and freshness Lambdas run the ingestion zip's code with their own handlers.
INGEST_ZIP = LambdaZip(
    "ingest",
    HANDLER_MODULE,
    VENDOR_ROOTS,
    EXCLUDED_SUBPACKAGES,
    other_handler_modules=("wistia_pipeline.publish_handler", "wistia_pipeline.freshness"),
)
REPORT_ZIP = LambdaZip(
    "report",
    "wistia_pipeline.report.lambda_handler",
    ("altair", "vl-convert-python", "sqlglot"),
    frozenset({"transforms"}),
    extra_pythons=("3.11",),
)


def locked_versions(lock_path: Path, roots: tuple[str, ...] = VENDOR_ROOTS) -> dict[str, str]:
    """``roots`` and their transitive dependencies with the versions pinned in ``uv.lock``."""
    lock = tomllib.loads(lock_path.read_text())
    packages = {pkg["name"]: pkg for pkg in lock.get("package", [])}
    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in pins:
            continue
        pkg = packages.get(name)
        if pkg is None:
            raise RuntimeError(f"{name} is not in {lock_path}; cannot pin the Lambda's vendor deps")
        pins[name] = pkg["version"]
        todo.extend(dep["name"] for dep in pkg.get("dependencies", []))
    return dict(sorted(pins.items()))


def _installer(target: Path, requirements: list[str], python: str = LAMBDA_PYTHON) -> list[str]:
    """The install command: pip when the interpreter has it, else uv (the project's tool)."""
    platform_args = ["--python-version", python, "--only-binary=:all:", "--no-deps"]
    has_pip = (
        subprocess.run(
            [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if has_pip:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(target), "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
            *platform_args, *requirements,
        ]  # fmt: skip
    uv = shutil.which("uv") or str(repo_root() / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        raise RuntimeError("neither pip nor uv is available to vendor the Lambda's dependencies")
    return [
        uv, "pip", "install", "--quiet", "--no-config", "--target", str(target),
        "--python-platform", "x86_64-manylinux2014", *platform_args, *requirements,
    ]  # fmt: skip


def vendor_dependencies(
    pins: dict[str, str], cache_root: Path, python: str = LAMBDA_PYTHON
) -> Path:
    """Install the pinned wheels for the Lambda platform (CPython ``python``) into a cached
    directory; return it."""
    requirements = [f"{name}=={version}" for name, version in pins.items()]
    key = hashlib.sha256("\n".join([python, LAMBDA_PLATFORM, *requirements]).encode()).hexdigest()[
        :16
    ]
    target = cache_root / key
    if (target / ".complete").exists():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache_root))
    try:
        cmd = _installer(staging, requirements, python)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"vendoring {requirements} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        (staging / ".complete").write_text("\n".join(requirements) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _module_path(package_dir: Path, module: str) -> Path | None:
    rel = module.split(".")[1:]
    base = package_dir.joinpath(*rel)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """``wistia_pipeline`` modules imported anywhere in ``path`` (deferred imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                parts = parts if is_pkg else parts[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def package_files(
    package_dir: Path,
    entries: Sequence[str] = (HANDLER_MODULE,),
    excluded: frozenset[str] = EXCLUDED_SUBPACKAGES,
) -> list[Entry]:
    """(source, arcname) of the modules the handlers import, transitively, plus their packages.

    Refuses a closure that reaches an excluded subpackage or Spark code.
    """
    seen: dict[str, Path] = {}
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_path(package_dir, module)
        if path is None:
            continue  # "from wistia_pipeline.x import name": name is not a module
        parts = module.split(".")
        if len(parts) > 1 and parts[1] in excluded:
            raise RuntimeError(f"the Lambda handler must not import {module} (excluded from zip)")
        if _SPARK_IMPORT.search(path.read_text(encoding="utf-8")):
            raise RuntimeError(f"the Lambda handler must not import Spark code ({module})")
        seen[module] = path
        # every enclosing package's __init__ is needed to import the module
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imported_modules(path, module))
    return sorted(
        (path, f"{PACKAGE}/{path.relative_to(package_dir).as_posix()}") for path in seen.values()
    )


def package_data(package_dir: Path, modules: list[Entry]) -> list[Entry]:
    """The non-Python files (SQL, templates) of the packages ``modules`` belong to.

    A file belongs to its nearest enclosing directory with an ``__init__.py``; only files of
    packages in the closure ship (``sql/files/**`` with ``sql``, ``report/sql`` with ``report``).
    """
    packages = {path.parent for path, _ in modules if path.name == "__init__.py"}
    found: list[Entry] = []
    for path, rel in tree_entries(package_dir):
        if path.suffix == ".py":
            continue
        owner = path.parent
        while owner != package_dir and not (owner / "__init__.py").is_file():
            owner = owner.parent
        if owner in packages:
            found.append((path, f"{PACKAGE}/{rel}"))
    return found


def vendor_files(vendor_dir: Path) -> list[Entry]:
    """The vendored packages' files (pip's ``bin/`` scripts and caches left out)."""
    return tree_entries(vendor_dir, skip_top=("bin",))


def extension_files(vendor_dir: Path, present: set[str]) -> list[Entry]:
    """The compiled extension modules of ``vendor_dir`` whose names are not in ``present``."""
    return [
        entry
        for entry in vendor_files(vendor_dir)
        if entry[1].endswith(".so") and entry[1] not in present
    ]


def zip_sizes(path: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of the zip at ``path``."""
    with zipfile.ZipFile(path) as zf:
        return path.stat().st_size, sum(info.file_size for info in zf.infolist())


def build_lambda_zip(
    out: Path, cache_root: Path | None = None, spec: LambdaZip = INGEST_ZIP
) -> Path:
    """Build ``spec``'s deployment zip at ``out`` (default: the ingestion Lambda's); return it."""
    root = repo_root()
    cache_root = cache_root or root / "build" / "lambda-vendor"
    pins = locked_versions(root / "uv.lock", spec.vendor_roots)
    modules = package_files(root / PIPELINE_SOURCE, spec.entry_modules, spec.excluded)
    vendored = vendor_files(vendor_dependencies(pins, cache_root))
    names = {arcname for _, arcname in vendored}
    for python in spec.extra_pythons:
        vendored += extension_files(vendor_dependencies(pins, cache_root, python), names)
    # write_zip refuses duplicate paths (a vendored package shadowing ours).
    write_zip(out, modules + package_data(root / PIPELINE_SOURCE, modules) + vendored)
    unzipped = zip_sizes(out)[1]
    if unzipped > UNZIPPED_LIMIT:
        out.unlink()
        raise RuntimeError(
            f"{out.name} unzips to {unzipped / 2**20:.1f} MiB, over Lambda's "
            f"{UNZIPPED_LIMIT / 2**20:.0f} MiB limit"
        )
    return out


def build_report_zip(out: Path, cache_root: Path | None = None) -> Path:
    """The report Lambda's zip (:data:`REPORT_ZIP`) at ``out``."""
    return build_lambda_zip(out, cache_root, REPORT_ZIP)
