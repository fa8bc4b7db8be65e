from pathlib import Path

import pytest

from wistia_pipeline.config import (
    ENV_NAMES,
    ConfigError,
    ensure_local_pii_key,
    load_settings,
    resolve_start_date,
)


def test_defaults_resolve_from_env(tmp_path: Path) -> None:
    settings = load_settings({"WISTIA_STATE_DIR": str(tmp_path)})
    assert settings.target == "local"
    assert settings.api_url == "https://api.wistia.com/modern"
    assert settings.lake_uri == str(tmp_path / "lake")
    assert settings.lookback_days == 2
    assert settings.state_db == tmp_path / "state.sqlite"


def test_secrets_never_in_repr() -> None:
    settings = load_settings({"WISTIA_API_TOKEN": "tok-123", "WISTIA_PII_HASH_KEY": "key-456"})
    assert "tok-123" not in repr(settings) and "key-456" not in repr(settings)
    assert settings.require_api_token() == "tok-123"


def test_missing_secrets_are_errors() -> None:
    settings = load_settings({})
    with pytest.raises(ConfigError, match="WISTIA_API_TOKEN"):
        settings.require_api_token()
    with pytest.raises(ConfigError, match="WISTIA_PII_HASH_KEY"):
        settings.require_pii_hash_key()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WISTIA_LOOKBACK_DAYS", "two"),
        ("WISTIA_RATE_LIMIT_PER_MINUTE", "0"),
        ("WISTIA_TARGET", "gcp"),
    ],
)
def test_bad_values_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_local_pii_key_generated_once(tmp_path: Path) -> None:
    first = ensure_local_pii_key(tmp_path)
    assert len(first) == 64
    assert ensure_local_pii_key(tmp_path) == first


def test_every_setting_resolves_through_one_lookup() -> None:
    names = {
        "WISTIA_LAMBDA_FUNCTION": "fn",
        "WISTIA_GLUE_DEFERRABLE": "false",
        "WISTIA_CHECK_TOLERANCE": "0.25",
        "WISTIA_LOOKBACK_DAYS": "5",
    }
    # The lookup (Airflow Variables on MWAA) fills what the env leaves unset; secrets never.
    settings = load_settings(
        {"WISTIA_API_TOKEN": "t"}, lookup={**names, "WISTIA_API_TOKEN": "v"}.get
    )
    assert settings.lambda_function == "fn"
    assert settings.glue_deferrable is False
    assert settings.check_tolerance == 0.25
    assert settings.lookback_days == 5
    assert settings.gold_job == "wistia-gold"  # default
    assert settings.glue_job("silver") == "wistia-silver"
    assert settings.api_token == "t"
    with pytest.raises(ConfigError, match="WISTIA_GLUE_DEFERRABLE"):
        load_settings({"WISTIA_GLUE_DEFERRABLE": "maybe"})
    with pytest.raises(ValueError, match="no Glue job"):
        settings.glue_job("ingest")


def test_every_read_variable_is_listed() -> None:
    assert {"WISTIA_TARGET", "WISTIA_START_DATE", "WISTIA_LAKE_URI"} <= ENV_NAMES
    assert all(name.startswith("WISTIA_") for name in ENV_NAMES)


def test_start_date_is_utc_midnight() -> None:
    # Unset: a constant no schedule reaches (stable, no surprise catchup), not a past date.
    assert resolve_start_date({}).isoformat() == "2999-01-01T00:00:00+00:00"
    assert resolve_start_date({"WISTIA_START_DATE": "2026-11-28"}).day == 28
    with pytest.raises(ConfigError, match="WISTIA_START_DATE"):
        resolve_start_date({"WISTIA_START_DATE": "yesterday"})


def test_visitors_cap_is_optional() -> None:
    assert load_settings({}).visitors_max_pages is None
    assert load_settings({"WISTIA_VISITORS_MAX_PAGES": "5"}).visitors_max_pages == 5
    assert load_settings({"WISTIA_VISITORS_MAX_PAGES": "0"}).visitors_max_pages is None


def test_lookback_has_one_bound_for_env_param_and_stack() -> None:
    import re

    from wistia_pipeline.config import MAX_LOOKBACK_DAYS

    assert load_settings({"WISTIA_LOOKBACK_DAYS": str(MAX_LOOKBACK_DAYS)}).lookback_days == 30
    with pytest.raises(ConfigError, match=f"WISTIA_LOOKBACK_DAYS must be <= {MAX_LOOKBACK_DAYS}"):
        load_settings({"WISTIA_LOOKBACK_DAYS": "100"})
    # The stack's LookbackDays parameter (which sets the env on MWAA) has the same bound.
    template = (Path(__file__).parents[1] / "include/infra/pipeline.yaml").read_text()
    block = re.search(r"\n  LookbackDays:\n((?:    .*\n)+)", template).group(1)
    assert f"MaxValue: {MAX_LOOKBACK_DAYS}\n" in block


def test_claim_lease_is_short_and_configurable() -> None:
    assert load_settings({}).claim_lease_seconds == 300
    assert load_settings({"WISTIA_CLAIM_LEASE_SECONDS": "120"}).claim_lease_seconds == 120
    with pytest.raises(ConfigError, match="WISTIA_CLAIM_LEASE_SECONDS"):
        load_settings({"WISTIA_CLAIM_LEASE_SECONDS": "5"})


def test_local_pii_key_race_has_one_winner(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: ensure_local_pii_key(tmp_path), range(16)))
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["pii_hash_key"]  # no temporary left
