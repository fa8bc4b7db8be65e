"""Fixtures for transform tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest


@pytest.fixture
def lines_df(spark) -> Callable:
    """Bronze lines as ``read_bronze_lines`` gives them: the row ids of a file's lines are
    consecutive, the files' id ranges apart (as in different Spark tasks)."""

    def build(rows: list[tuple[str, str]]):
        files: dict[str, int] = {}
        seen: Counter[str] = Counter()
        numbered = []
        for value, source in rows:
            base = files.setdefault(source, len(files)) << 33
            numbered.append((value, source, base + 1000 + seen[source]))
            seen[source] += 1
        return spark.createDataFrame(numbered, "value string, source_file string, row_id bigint")

    return build
