"""Run-time configuration, resolved from the environment when a run starts (never at import).

One source for every target: the Lambda, the local target, the Glue jobs and the DAG adapters
all call :func:`load_settings`. Secrets (Wistia token, PII hashing key) come from env locally and
from Secrets Manager on AWS; they are never defaults and never appear in ``repr``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.wistia.com/modern"
API_VERSION = "2026-03"
DEFAULT_LOOKBACK_DAYS = 2
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
DEFAULT_MAX_WORKERS = 8
DEFAULT_STATE_TABLE = "wistia-pipeline-state"
TARGETS = ("local", "aws")


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def repo_root() -> Path:
    """The project root when running from a checkout (include/wistia_pipeline/config.py)."""
    return Path(__file__).resolve().parents[2]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    target: str
    api_url: str
    lake_uri: str
    state_dir: Path
    lookback_days: int
    rate_limit_per_minute: int
    max_workers: int
    state_table: str
    state_db: Path
    # Cap on /stats/visitors pages per run (account-wide, 100 visitors a page); None = no cap.
    visitors_max_pages: int | None = None
    secret_id: str | None = None
    pii_secret_id: str | None = None
    # Secrets: excluded from repr so they never reach a log line by accident.
    api_token: str | None = field(default=None, repr=False)
    pii_hash_key: str | None = field(default=None, repr=False)

    def require_api_token(self) -> str:
        """The Wistia token: env locally, Secrets Manager (WISTIA_SECRET_ID) on AWS."""
        if self.api_token:
            return self.api_token
        if self.secret_id:
            return read_secret(self.secret_id, json_key="api_token")
        raise ConfigError("no Wistia API token: set WISTIA_API_TOKEN or WISTIA_SECRET_ID")

    def require_pii_hash_key(self) -> str:
        """The HMAC key for PII: env locally, Secrets Manager (WISTIA_PII_SECRET_ID) on AWS."""
        if self.pii_hash_key:
            return self.pii_hash_key
        if self.pii_secret_id:
            return read_secret(self.pii_secret_id, json_key="pii_hash_key")
        raise ConfigError(
            "no PII hash key: set WISTIA_PII_HASH_KEY or WISTIA_PII_SECRET_ID "
            "(refusing to write silver with unhashed or null identities)"
        )


def resolve_target(env: Mapping[str, str] | None = None) -> str:
    """``WISTIA_TARGET`` (``local`` when unset). An env read only: the DAG file calls it."""
    env = os.environ if env is None else env
    target = env.get("WISTIA_TARGET", "local").strip() or "local"
    if target not in TARGETS:
        raise ConfigError(f"WISTIA_TARGET must be one of {TARGETS}, got {target!r}")
    return target


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``)."""
    env = os.environ if env is None else env
    target = resolve_target(env)
    state_dir = Path(env.get("WISTIA_STATE_DIR") or repo_root() / ".state")
    lake_uri = env.get("WISTIA_LAKE_URI") or str(state_dir / "lake")
    return Settings(
        target=target,
        api_url=(env.get("WISTIA_API_URL") or DEFAULT_API_URL).rstrip("/"),
        lake_uri=lake_uri.rstrip("/"),
        state_dir=state_dir,
        lookback_days=_int(env, "WISTIA_LOOKBACK_DAYS", DEFAULT_LOOKBACK_DAYS),
        rate_limit_per_minute=_int(
            env, "WISTIA_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE, minimum=1
        ),
        max_workers=_int(env, "WISTIA_MAX_WORKERS", DEFAULT_MAX_WORKERS, minimum=1),
        state_table=env.get("WISTIA_STATE_TABLE") or DEFAULT_STATE_TABLE,
        state_db=Path(env.get("WISTIA_STATE_DB") or state_dir / "state.sqlite"),
        visitors_max_pages=_int(env, "WISTIA_VISITORS_MAX_PAGES", 0, minimum=0) or None,
        secret_id=env.get("WISTIA_SECRET_ID") or None,
        pii_secret_id=env.get("WISTIA_PII_SECRET_ID") or None,
        api_token=env.get("WISTIA_API_TOKEN") or None,
        pii_hash_key=env.get("WISTIA_PII_HASH_KEY") or None,
    )


def read_secret(secret_id: str, json_key: str) -> str:
    """Read a secret string; a JSON object secret is indexed by ``json_key``."""
    import boto3  # deferred: not needed on the local target

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    if value.lstrip().startswith("{"):
        try:
            value = json.loads(value)[json_key]
        except (ValueError, KeyError):
            raise ConfigError(f"secret {secret_id} has no key {json_key!r}") from None
    if not value:
        raise ConfigError(f"secret {secret_id} is empty")
    return value


def ensure_local_pii_key(state_dir: Path) -> str:
    """Generate (once) and return a local PII hash key stored under the state dir."""
    path = state_dir / "pii_hash_key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
