"""Bronze lines -> envelope columns + the raw record, parsed with a tolerant record schema."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .casts import first_reason, to_timestamp_utc
from .pii import redact_raw
from .schemas import ENVELOPE_SCHEMA, RECORD_SCHEMAS

# Bronze paths end in .../dt=YYYY-MM-DD/<run_id>/part-NNNNN.ndjson.gz
_PATH_DT = r"/dt=(\d{4}-\d{2}-\d{2})/"
_PATH_RUN = r"/dt=[^/]+/([^/]+)/[^/]+$"


def parse_envelopes(lines: DataFrame, stream: str) -> DataFrame:
    """Parse bronze NDJSON lines of one stream.

    ``lines`` has ``value`` (one line) and ``source_file`` (the bronze file URI; used for the
    run id and dt when the envelope itself is unreadable). Returns ``raw`` (the record JSON, or
    the whole line when unparseable), ``rec`` (parsed record struct), ``_run_id``,
    ``_fetched_at`` (timestamp), ``_bronze_dt`` (date), ``_ingest_media_id`` and
    ``_parse_error`` (null when the line is a well-formed envelope around a JSON object).
    """
    record_schema = RECORD_SCHEMAS[stream]
    env = F.from_json("value", ENVELOPE_SCHEMA)
    parsed = lines.select(
        "value", "source_file", env["_ingest"].alias("ingest"), env["record"].alias("record")
    )
    record_is_object = F.trim(F.col("record")).startswith("{")
    parse_error = first_reason(
        [
            (F.col("record").isNull(), "unparseable_line"),
            (~record_is_object, "record_not_object"),
        ]
    )
    path_dt = F.regexp_extract("source_file", _PATH_DT, 1)
    path_run = F.regexp_extract("source_file", _PATH_RUN, 1)
    return parsed.select(
        F.coalesce(F.col("record"), F.col("value")).alias("raw"),
        F.when(record_is_object, F.from_json("record", record_schema)).alias("rec"),
        F.coalesce(F.col("ingest.run_id"), F.when(path_run != "", path_run)).alias("_run_id"),
        to_timestamp_utc(F.col("ingest.fetched_at")).alias("_fetched_at"),
        F.coalesce(
            F.to_date(F.col("ingest.dt"), "yyyy-MM-dd"),
            F.to_date(F.when(path_dt != "", path_dt), "yyyy-MM-dd"),
        ).alias("_bronze_dt"),
        F.col("ingest.media_id").alias("_ingest_media_id"),
        parse_error.alias("_parse_error"),
    )


@dataclass(frozen=True)
class Checked:
    """Typed rows with a ``_reject_reason`` column (null = valid), plus its split."""

    df: DataFrame

    @property
    def valid(self) -> DataFrame:
        return self.df.where(F.col("_reject_reason").isNull()).drop("_reject_reason")

    @property
    def rejects(self) -> DataFrame:
        """``reason, raw, _run_id, dt``: ``raw`` with personal data masked, dt = bronze dt."""
        return self.df.where(F.col("_reject_reason").isNotNull()).select(
            F.col("_reject_reason").alias("reason"),
            redact_raw(F.col("raw")).alias("raw"),
            F.col("_run_id"),
            F.col("_bronze_dt").alias("dt"),
        )
