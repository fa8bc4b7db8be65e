"""Fixtures for transform tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def lines_df(spark) -> Callable:
    def build(rows: list[tuple[str, str]]):
        return spark.createDataFrame(rows, "value string, source_file string")

    return build
