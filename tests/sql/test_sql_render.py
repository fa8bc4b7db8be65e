"""The safe renderer: validated values only, no way to inject SQL through a parameter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wistia_pipeline.sql import SqlParamError, render_sql, render_template


def test_renders_validated_values() -> None:
    sql = render_template(
        "SELECT * FROM ${database}.t WHERE dt BETWEEN '${start_date}' AND '${end_date}' "
        "AND x > ${tolerance} LIMIT ${top_n}",
        {
            "database": "wistia_dev",
            "start_date": date(2024, 1, 2),
            "end_date": "2024-01-31",
            "tolerance": 0.05,
            "top_n": "7",
        },
    )
    assert sql == (
        "SELECT * FROM wistia_dev.t WHERE dt BETWEEN '2024-01-02' AND '2024-01-31' "
        "AND x > 0.05 LIMIT 7"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (0.0, "0.0"), (1e-7, "0.0000001"), (Decimal("0.10"), "0.10"), ("2.5", "2.5")],
)
def test_tolerance_renders_as_a_plain_decimal_literal(value: object, text: str) -> None:
    assert render_template("${tolerance}", {"tolerance": value}) == text


def test_escaped_placeholder_stays_literal_for_athena() -> None:
    out = render_template("'${lake_uri}/t/dt=$${dt}/'", {"lake_uri": "s3://my-bucket/p/"})
    assert out == "'s3://my-bucket/p/t/dt=${dt}/'"


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        ("regexp_like(v, '^[0-9a-f]{64}$')", "regexp_like(v, '^[0-9a-f]{64}$')"),
        ("([^0-9.]|$)", "([^0-9.]|$)"),
        ("$database $$x $", "$database $$x $"),
        ("$${unclosed", "$${unclosed"),
        ("$$${database}", "$${database}"),
        ("${database}}", "w}"),
    ],
)
def test_only_braced_placeholders_are_substituted(template: str, rendered: str) -> None:
    assert render_template(template, {"database": "w"}) == rendered


@pytest.mark.parametrize(("template", "name"), [("${foo}", "foo"), ("${ database }", " database ")])
def test_a_placeholder_without_a_value_names_the_template(template: str, name: str) -> None:
    with pytest.raises(SqlParamError, match=rf"^src needs parameter\(s\) \['{name}'\]$"):
        render_template(template, {"database": "w"}, "src")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("database", "wistia; DROP TABLE x"),
        ("database", "Wistia"),
        ("database", "wistia.events"),
        ("database", ""),
        ("database", 'a"b'),
        ("start_date", "2024-01-01' OR '1'='1"),
        ("start_date", "2024-02-30"),
        ("start_date", "20240101"),
        ("start_date", "2024-01-01T00:00:00"),
        ("end_date", 20240101),
        ("tolerance", "0.1; --"),
        ("tolerance", "nan"),
        ("tolerance", float("nan")),
        ("tolerance", float("inf")),
        ("tolerance", -0.1),
        ("tolerance", "1 OR 1=1"),
        ("tolerance", True),
        ("top_n", 0),
        ("top_n", "10 UNION SELECT 1"),
        ("lake_uri", "s3://bucket/p' --"),
        ("lake_uri", "s3://bucket/with space"),
        ("lake_uri", "relative/path"),
        ("lake_uri", "http://example.com/x"),
    ],
)
def test_rejects_unsafe_values(name: str, value: object) -> None:
    with pytest.raises(SqlParamError, match=name):
        render_template("${" + name + "}", {name: value})


def test_unknown_and_missing_parameters_are_errors() -> None:
    with pytest.raises(SqlParamError, match="unknown SQL parameter"):
        render_template("SELECT 1", {"databse": "wistia"})
    with pytest.raises(SqlParamError, match=r"checks/gold_days_present needs.*end_date"):
        render_sql("checks", "gold_days_present", start_date="2024-01-01", database="wistia")


def test_start_after_end_is_rejected() -> None:
    with pytest.raises(SqlParamError, match="after end_date"):
        render_template("${start_date}", {"start_date": "2024-02-01", "end_date": "2024-01-01"})


def test_unused_parameters_are_validated_but_harmless() -> None:
    assert render_template("SELECT 1", {"database": "wistia", "tolerance": 0}) == "SELECT 1"
    with pytest.raises(SqlParamError):
        render_template("SELECT 1", {"database": "x;y"})
