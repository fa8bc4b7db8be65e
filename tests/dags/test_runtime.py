"""The run info a task derives from the Airflow context (wistia_airflow.runtime)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wistia_airflow.runtime import data_day, run_info
from wistia_pipeline import pipeline


def test_data_day_is_the_interval_start(monkeypatch) -> None:
    context = {"data_interval_start": datetime(2026, 5, 4, tzinfo=UTC), "run_id": "r"}
    assert data_day(context) == date(2026, 5, 4)
    with pytest.raises(ValueError, match="data interval"):
        data_day({"data_interval_start": None})
    params = {"lookback_days": None, "streams": "events, medias"}
    info = run_info({**context, "params": params}, 3)
    assert (info.lookback_days, info.streams) == (3, ["medias", "events"])
    assert info.window == (date(2026, 5, 1), date(2026, 5, 4))
    assert run_info({**context, "params": {"lookback_days": 0}}, 3).lookback_days == 0
    assert run_info(context, 3).streams == list(pipeline.ALL_STREAMS)
    with pytest.raises(ValueError, match="lookback_days"):
        run_info({**context, "params": {"lookback_days": "two"}}, 3)


def test_lookback_param_is_bounded_like_the_env() -> None:
    from wistia_pipeline.config import MAX_LOOKBACK_DAYS

    context = {"data_interval_start": datetime(2026, 5, 4, tzinfo=UTC), "run_id": "r"}
    params = {"lookback_days": MAX_LOOKBACK_DAYS}
    assert run_info({**context, "params": params}, 2).lookback_days == MAX_LOOKBACK_DAYS
    with pytest.raises(ValueError, match=f"0..{MAX_LOOKBACK_DAYS}"):
        run_info({**context, "params": {"lookback_days": MAX_LOOKBACK_DAYS + 1}}, 2)
