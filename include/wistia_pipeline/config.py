"""Run-time configuration: one loader, one frozen :class:`Settings`, resolved when a run starts.

Every target calls :func:`load_settings`: the Lambda, the Glue jobs, the local target and the
Airflow tasks (which inject a lookup that falls back to Airflow Variables). :data:`SETTINGS` is
the one table of setting names, defaults and parsers. Secrets (Wistia token, PII hashing key)
come from the environment locally and from Secrets Manager on AWS; they are never defaults,
never read from a lookup, and never appear in ``repr``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "https://api.wistia.com/modern"
API_VERSION = "2026-03"
DEFAULT_LOOKBACK_DAYS = 2
# The one bound on L: WISTIA_LOOKBACK_DAYS and the DAG's lookback_days param both use it (a
# longer window re-ingests weeks of data per run and overlaps every neighbouring run).
MAX_LOOKBACK_DAYS = 30
# A claim's lease: short, because every task of a live run renews it (heartbeat), so a crashed
# run's claim lapses within minutes and the next run or a retry takes the day over.
DEFAULT_CLAIM_LEASE_SECONDS = 300
# Days one run may cover ([D1, D2]): catchup and backfills group up to this many days per run.
# 7 keeps the largest account measured (bench-ingest: 500 media, ~300 events pages a day) at
# ~4,300 requests, ~7 minutes at Wistia's 600/min: well inside the Lambda's 15 minutes.
DEFAULT_MAX_RANGE_DAYS = 7
# The hard bound: a range claim is one DynamoDB transaction of its days plus the 2 L guard
# days around it (TransactWriteItems takes at most 100 items; L is at most 30).
MAX_RANGE_DAYS = 40
# A run whose window overlaps a live run waits for it (claim_day defers and retries) this long.
DEFAULT_CLAIM_WAIT_SECONDS = 4 * 3600
DEFAULT_CLAIM_POKE_SECONDS = 60
# WISTIA_START_DATE unset: a start date no schedule reaches (see resolve_start_date).
UNSCHEDULED_START_DATE = "2999-01-01"
TARGETS = ("local", "aws")

Lookup = Callable[[str], "str | None"]


class ConfigError(ValueError):
    """A setting is missing or malformed."""


# --- parsers: (env name, raw text) -> value; errors name the setting ----------------------------


def _text(_name: str, raw: str) -> str:
    return raw


def _no_trailing_slash(_name: str, raw: str) -> str:
    return raw.rstrip("/")


def _path(_name: str, raw: str) -> Path:
    return Path(raw).absolute()


def _int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be <= {maximum}, got {value}")
        return value

    return parse


def _cap(name: str, raw: str) -> int | None:
    return _int_at_least(0)(name, raw) or None  # 0 means no cap


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _flag(name: str, raw: str) -> bool:
    value = raw.lower()
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{name} must be true/false, got {raw!r}")
    return value in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    doc: str
    parse: Callable[[str, str], Any] = _text


# Field name of Settings -> where it comes from. None defaults are unset (or derived below).
SETTINGS: Mapping[str, Setting] = {
    "api_url": Setting("WISTIA_API_URL", DEFAULT_API_URL, "API base", _no_trailing_slash),
    "state_dir": Setting("WISTIA_STATE_DIR", ".state", "local state directory", _path),
    "lake_uri": Setting(
        "WISTIA_LAKE_URI", None, "lake root (<state dir>/lake)", _no_trailing_slash
    ),
    "lookback_days": Setting(
        "WISTIA_LOOKBACK_DAYS",
        str(DEFAULT_LOOKBACK_DAYS),
        f"L (0..{MAX_LOOKBACK_DAYS})",
        _int_at_least(0, MAX_LOOKBACK_DAYS),
    ),
    "rate_limit_per_minute": Setting(
        "WISTIA_RATE_LIMIT_PER_MINUTE", "600", "client token bucket", _int_at_least(1)
    ),
    "max_workers": Setting("WISTIA_MAX_WORKERS", "8", "client thread pool", _int_at_least(1)),
    "state_table": Setting("WISTIA_STATE_TABLE", "wistia-pipeline-state", "DynamoDB table"),
    "state_db": Setting("WISTIA_STATE_DB", None, "SQLite run state (<state dir>)", _path),
    "claim_lease_seconds": Setting(
        "WISTIA_CLAIM_LEASE_SECONDS",
        str(DEFAULT_CLAIM_LEASE_SECONDS),
        "a day claim's lease, renewed by the live run (heartbeat)",
        _int_at_least(30),
    ),
    "max_range_days": Setting(
        "WISTIA_MAX_RANGE_DAYS",
        str(DEFAULT_MAX_RANGE_DAYS),
        f"days one run covers at most when behind (1..{MAX_RANGE_DAYS})",
        _int_at_least(1, MAX_RANGE_DAYS),
    ),
    "claim_wait_seconds": Setting(
        "WISTIA_CLAIM_WAIT_SECONDS",
        str(DEFAULT_CLAIM_WAIT_SECONDS),
        "how long claim_day waits for a live run with an overlapping window",
        _int_at_least(0),
    ),
    "claim_poke_seconds": Setting(
        "WISTIA_CLAIM_POKE_SECONDS",
        str(DEFAULT_CLAIM_POKE_SECONDS),
        "how often a waiting claim_day tries again",
        _int_at_least(1),
    ),
    "visitors_max_pages": Setting(
        "WISTIA_VISITORS_MAX_PAGES",
        "0",
        "cap on /stats/visitors pages or visitor lookups (0: none)",
        _cap,
    ),
    "secret_id": Setting("WISTIA_SECRET_ID", None, "Secrets Manager id of the token"),
    "pii_secret_id": Setting("WISTIA_PII_SECRET_ID", None, "Secrets Manager id of the PII key"),
    "lambda_function": Setting("WISTIA_LAMBDA_FUNCTION", "wistia-ingest", "ingestion Lambda"),
    "publish_function": Setting("WISTIA_PUBLISH_FUNCTION", "wistia-publish", "publish Lambda"),
    "silver_job": Setting("WISTIA_GLUE_SILVER_JOB", "wistia-silver", "Glue job of silver"),
    "gold_job": Setting("WISTIA_GLUE_GOLD_JOB", "wistia-gold", "Glue job of gold"),
    "athena_database": Setting("WISTIA_ATHENA_DATABASE", "wistia", "Glue/Athena database"),
    "athena_workgroup": Setting("WISTIA_ATHENA_WORKGROUP", "wistia", "Athena workgroup"),
    "athena_output": Setting("WISTIA_ATHENA_OUTPUT", None, "results location (the workgroup's)"),
    "aws_conn_id": Setting("WISTIA_AWS_CONN_ID", "aws_default", "Airflow AWS connection id"),
    "glue_deferrable": Setting(
        "WISTIA_GLUE_DEFERRABLE", "true", "wait for Glue in the triggerer", _flag
    ),
    "poll_seconds": Setting("WISTIA_AWS_POLL_SECONDS", "30", "Glue/Athena poll interval", _number),
    "ingest_start_seconds": Setting(
        "WISTIA_INGEST_START_SECONDS",
        "90",  # state.ingestion.INGEST_START_SECONDS (the twin's)
        "how long an asynchronous ingestion Lambda invocation may take to start",
        _int_at_least(10),
    ),
    "ingest_lease_seconds": Setting(
        "WISTIA_INGEST_LEASE_SECONDS",
        "60",  # state.ingestion.INGEST_LEASE_SECONDS (the twin's)
        "the ingestion Lambda's heartbeat lease (renewed every lease / 4 s)",
        _int_at_least(10, 900),
    ),
    "check_tolerance": Setting(
        "WISTIA_CHECK_TOLERANCE", "0.0", "allowed reconciliation gap share", _number
    ),
    "max_reject_share": Setting(
        "WISTIA_MAX_REJECT_SHARE", None, "silver's reject share limit (the job's 0.01)", _number
    ),
    "alert_topic_arn": Setting("WISTIA_ALERT_SNS_TOPIC_ARN", None, "SNS topic for failures"),
    "report_topic_arn": Setting(
        "WISTIA_REPORT_SNS_TOPIC_ARN", None, "SNS topic for 'daily report ready' (success) notices"
    ),
    "report_base_url": Setting(
        "WISTIA_REPORT_BASE_URL", None, "https URL serving <lake>/reports/", _no_trailing_slash
    ),
}


# The local Spark runner's class-data-sharing archive directory (wistia_pipeline.local_spark).
SPARK_CDS_DIR_ENV = "WISTIA_SPARK_CDS_DIR"

# Read from the environment only: at DAG parse time, or secrets (never from Airflow Variables).
ENV_ONLY: Mapping[str, str] = {
    "WISTIA_TARGET": "local or aws (the DAG's graph is chosen at parse time)",
    "WISTIA_START_DATE": "where catchup starts (parse time)",
    "WISTIA_API_TOKEN": "Wistia token (local; WISTIA_SECRET_ID on AWS)",
    "WISTIA_PII_HASH_KEY": "PII HMAC key (local; WISTIA_PII_SECRET_ID on AWS)",
    SPARK_CDS_DIR_ENV: "local Spark's JVM class archive dir (<XDG cache>/wistia-pipeline; off)",
}
# Every WISTIA_* variable the code reads.
ENV_NAMES: frozenset[str] = frozenset(ENV_ONLY) | {s.env for s in SETTINGS.values()}


@dataclass(frozen=True)
class Settings:
    target: str
    api_url: str
    state_dir: Path
    lake_uri: str
    lookback_days: int
    rate_limit_per_minute: int
    max_workers: int
    state_table: str
    state_db: Path
    claim_lease_seconds: int
    max_range_days: int
    claim_wait_seconds: int
    claim_poke_seconds: int
    visitors_max_pages: int | None
    secret_id: str | None
    pii_secret_id: str | None
    lambda_function: str
    publish_function: str
    silver_job: str
    gold_job: str
    athena_database: str
    athena_workgroup: str
    athena_output: str | None
    aws_conn_id: str
    glue_deferrable: bool
    poll_seconds: float
    ingest_start_seconds: int
    ingest_lease_seconds: int
    check_tolerance: float
    max_reject_share: float | None
    alert_topic_arn: str | None
    report_topic_arn: str | None
    report_base_url: str | None
    # Secrets: excluded from repr so they never reach a log line by accident.
    api_token: str | None = field(default=None, repr=False)
    pii_hash_key: str | None = field(default=None, repr=False)

    def glue_job(self, step_task_id: str) -> str:
        """The Glue job name of a Glue step (``silver`` / ``gold``)."""
        try:
            return {"silver": self.silver_job, "gold": self.gold_job}[step_task_id]
        except KeyError:
            raise ValueError(f"no Glue job for step {step_task_id!r}") from None

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


def resolve_start_date(env: Mapping[str, str] | None = None) -> datetime:
    """``WISTIA_START_DATE`` as UTC midnight (an env read only: the DAG file calls it).

    Unset: :data:`UNSCHEDULED_START_DATE` (2999-01-01), so the scheduler creates no run at all
    (no surprise catchup) while triggered runs and ``dag.test()`` still work. The default is a
    constant on purpose: Airflow needs a stable start date (each change is a new DAG version,
    and "today minus the lookback" would move every day), so the date is chosen once by
    whoever schedules: ``make deploy`` exports the stack's CatchupStartDate (the first
    deploy's day minus the lookback, kept afterwards); ``make demo``/``make backfill`` set the
    first day they run; ``make airflow`` the first data day already in its metadata DB, else
    today minus the lookback.
    """
    env = os.environ if env is None else env
    raw = (env.get("WISTIA_START_DATE") or "").strip() or UNSCHEDULED_START_DATE
    try:
        day = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"WISTIA_START_DATE must be YYYY-MM-DD, got {raw!r}") from None
    return day.replace(tzinfo=UTC)


def resolve_max_range_days(env: Mapping[str, str] | None = None) -> int:
    """``WISTIA_MAX_RANGE_DAYS`` (an env read only: the DAG file's timetable calls it)."""
    env = os.environ if env is None else env
    return _resolve(SETTINGS["max_range_days"], env_lookup(env))


def env_lookup(env: Mapping[str, str]) -> Lookup:
    return lambda name: env.get(name) or None


def _resolve(setting: Setting, lookup: Lookup) -> Any:
    raw = (lookup(setting.env) or "").strip() or setting.default
    return None if raw is None else setting.parse(setting.env, raw)


def load_settings(env: Mapping[str, str] | None = None, lookup: Lookup | None = None) -> Settings:
    """:class:`Settings` from ``env`` (default ``os.environ``).

    ``lookup`` (default: ``env``) resolves every setting of :data:`SETTINGS`; the Airflow tasks
    pass one that falls back to Airflow Variables. The target and the secrets are env reads.
    """
    env = os.environ if env is None else env
    values = {key: _resolve(s, lookup or env_lookup(env)) for key, s in SETTINGS.items()}
    state_dir: Path = values["state_dir"]
    values["lake_uri"] = values["lake_uri"] or str(state_dir / "lake")
    values["state_db"] = values["state_db"] or state_dir / "state.sqlite"
    return Settings(
        target=resolve_target(env),
        api_token=env.get("WISTIA_API_TOKEN") or None,
        pii_hash_key=env.get("WISTIA_PII_HASH_KEY") or None,
        **values,
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
    """Generate (once) and return a local PII hash key stored under the state dir.

    Safe when two processes start on a fresh state dir at once: the key is written to a
    private temporary file and linked into place, so exactly one key wins and both read it.
    """
    path = state_dir / "pii_hash_key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".pii_hash_key.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process linked its key first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
