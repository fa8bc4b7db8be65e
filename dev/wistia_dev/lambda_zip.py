"""Build the ingestion Lambda's deployment zip (part of ``python -m wistia_dev.dist``).

The zip holds, at its root:

- the ``wistia_pipeline`` modules the handler imports, transitively (found by reading their
  ``import`` statements); the build fails if that reaches ``transforms/``, ``sql/`` or Spark
  code;
- ``requests`` and its dependencies, vendored for the Lambda runtime (Python 3.12, x86_64
  manylinux wheels only), pinned to the versions in ``uv.lock``. boto3 is provided by the
  runtime and is not included.

Handler: ``wistia_pipeline.lambda_handler.handler``. Vendored wheels are cached under
``build/lambda-vendor/<hash of the pins>/`` so repeated builds do not download again. The zip is
reproducible (written by :func:`wistia_dev.zips.write_zip`).
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


def _installer(target: Path, requirements: list[str]) -> list[str]:
    """The install command: pip when the interpreter has it, else uv (the project's tool)."""
    platform_args = ["--python-version", LAMBDA_PYTHON, "--only-binary=:all:", "--no-deps"]
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


def vendor_dependencies(pins: dict[str, str], cache_root: Path) -> Path:
    """Install the pinned wheels for the Lambda platform into a cached directory; return it."""
    requirements = [f"{name}=={version}" for name, version in pins.items()]
    key = hashlib.sha256(
        "\n".join([LAMBDA_PYTHON, LAMBDA_PLATFORM, *requirements]).encode()
    ).hexdigest()[:16]
    target = cache_root / key
    if (target / ".complete").exists():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache_root))
    try:
        cmd = _installer(staging, requirements)
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


def package_files(package_dir: Path, entry: str = HANDLER_MODULE) -> list[Entry]:
    """(source, arcname) of the modules the handler imports, transitively, plus their packages.

    Refuses a closure that reaches an excluded subpackage or Spark code.
    """
    seen: dict[str, Path] = {}
    todo = [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_path(package_dir, module)
        if path is None:
            continue  # "from wistia_pipeline.x import name": name is not a module
        parts = module.split(".")
        if len(parts) > 1 and parts[1] in EXCLUDED_SUBPACKAGES:
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


def vendor_files(vendor_dir: Path) -> list[Entry]:
    """The vendored packages' files (pip's ``bin/`` scripts and caches left out)."""
    return tree_entries(vendor_dir, skip_top=("bin",))


def build_lambda_zip(out: Path, cache_root: Path | None = None) -> Path:
    """Build the deployment zip at ``out``; return its path."""
    root = repo_root()
    cache_root = cache_root or root / "build" / "lambda-vendor"
    vendor = vendor_dependencies(locked_versions(root / "uv.lock"), cache_root)
    # write_zip refuses duplicate paths (a vendored package shadowing ours).
    return write_zip(out, package_files(root / PIPELINE_SOURCE) + vendor_files(vendor))
