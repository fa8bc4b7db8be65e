"""Bronze lines -> envelope columns + the parsed record (tolerant schema) + where it came from."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from .casts import first_reason, to_timestamp_utc
from .pii import PiiHasher
from .schemas import ENVELOPE_SCHEMA, RECORD_SCHEMAS, REJECT_COLUMNS

# Bronze paths end in .../dt=YYYY-MM-DD/<run_id>/part-NNNNN.ndjson.gz
_PATH_DT = r"/dt=(\d{4}-\d{2}-\d{2})/"
_PATH_RUN = r"/dt=[^/]+/([^/]+)/[^/]+$"
_CORRUPT = "_corrupt_record"  # filled by from_json when a line did not parse cleanly


def parse_envelopes(lines: DataFrame, stream: str) -> DataFrame:
    """Parse bronze NDJSON lines of one stream.

    ``lines`` has ``value`` (one line), ``source_file`` (the bronze file URI; also used for the
    run id and dt when the envelope itself is unreadable) and ``row_id`` (consecutive within a
    file, see :func:`line_numbers`).
    Returns ``rec`` (parsed record struct), ``_run_id``, ``_fetched_at`` (timestamp),
    ``_bronze_dt`` (date), ``_ingest_media_id``, ``_parse_error`` (null when the line is a
    well-formed envelope around a JSON object), ``_source_file`` and ``_row_id``. The line's
    text goes no further: a reject is found again by its file and line, never copied.

    A line is parsed once, envelope and record together (:func:`typed_envelope_schema`). A
    line that parse had any trouble with (a record that is not an object, bad JSON: rare) is
    read again the tolerant way (:func:`_tolerant`), which keeps the record as text to tell
    those cases apart; what every line gets is what that tolerant reading gives.
    """
    record_schema = RECORD_SCHEMAS[stream]
    options = {"columnNameOfCorruptRecord": _CORRUPT}
    env = F.from_json("value", typed_envelope_schema(record_schema), options)
    once = lines.select("source_file", "row_id", "value", env.alias("env"))
    clean = F.col("env.record").isNotNull() & F.col(f"env.{_CORRUPT}").isNull()
    again = once.select("source_file", "row_id", "env", clean.alias("_clean"), *_tolerant(clean))
    record_text = F.col("_record_text")
    record_is_object = F.trim(record_text).startswith("{")
    parse_error = first_reason(
        [(record_text.isNull(), "unparseable_line"), (~record_is_object, "record_not_object")]
    )
    rec = F.when(F.col("_clean"), F.col("env.record")).when(
        record_is_object, F.from_json(record_text, record_schema)
    )
    ingest = F.when(F.col("_clean"), F.col("env._ingest")).otherwise(F.col("_raw_ingest"))
    parsed = again.select(
        "source_file",
        "row_id",
        rec.alias("rec"),
        ingest.alias("ingest"),
        F.when(~F.col("_clean"), parse_error).alias("_parse_error"),
    )
    return _with_provenance(parsed)


def typed_envelope_schema(record_schema: StructType) -> StructType:
    """One bronze line with its record typed by ``record_schema`` (tolerant: string leaves),
    plus the column Spark fills when the line did not parse cleanly."""
    return StructType(
        [
            ENVELOPE_SCHEMA["_ingest"],
            StructField("record", record_schema),
            StructField(_CORRUPT, StringType()),
        ]
    )


def _tolerant(clean: Column) -> list[Column]:
    """``_raw_ingest`` and ``_record_text`` (the record as JSON text) of a line that did not
    parse cleanly, each read on its own; null for a clean line (never parsed again)."""
    ingest = F.from_json("value", StructType([ENVELOPE_SCHEMA["_ingest"]]))["_ingest"]
    record = F.from_json("value", StructType([ENVELOPE_SCHEMA["record"]]))["record"]
    return [
        F.when(~clean, ingest).alias("_raw_ingest"),
        F.when(~clean, record).alias("_record_text"),
    ]


def _with_provenance(parsed: DataFrame) -> DataFrame:
    """Envelope columns of ``parsed`` (``ingest``), with the run id and dt taken from the
    bronze path where the envelope lacks them."""
    path_dt = F.regexp_extract("source_file", _PATH_DT, 1)
    path_run = F.regexp_extract("source_file", _PATH_RUN, 1)
    return parsed.select(
        "rec",
        F.coalesce(F.col("ingest.run_id"), F.when(path_run != "", path_run)).alias("_run_id"),
        to_timestamp_utc(F.col("ingest.fetched_at")).alias("_fetched_at"),
        F.coalesce(
            F.to_date(F.col("ingest.dt"), "yyyy-MM-dd"),
            F.to_date(F.when(path_dt != "", path_dt), "yyyy-MM-dd"),
        ).alias("_bronze_dt"),
        F.col("ingest.media_id").alias("_ingest_media_id"),
        "_parse_error",
        F.col("source_file").alias("_source_file"),
        F.col("row_id").alias("_row_id"),
    )


@dataclass(frozen=True)
class Checked:
    """Typed rows with a ``_reject_reason`` column (null = valid), plus its split."""

    df: DataFrame

    @property
    def valid(self) -> DataFrame:
        return self.df.where(F.col("_reject_reason").isNull()).drop("_reject_reason")

    def rejects(self, hasher: PiiHasher) -> DataFrame:
        """``reason, source_file, line, _run_id, ip_hash, email_hash, dt`` (dt = bronze dt).

        No text of the record: it may hold personal data in any form (a ``zoë...@`` address
        defeats a pattern), so the row says where the line is and carries the keyed hashes of
        the identifiers the stream types (``_ip``, ``_email``; null where it has none), the
        same hashes silver has, to find the viewer's other rows.
        """
        rejected = self.df.where(F.col("_reject_reason").isNotNull())
        located = hasher.attach(line_numbers(rejected, self.df))
        columns = set(located.columns)
        none = F.lit(None).cast("string")
        ip = hasher.hash_text(F.col("_ip")) if "_ip" in columns else none
        email = hasher.hash_email(F.col("_email")) if "_email" in columns else none
        return located.select(
            F.col("_reject_reason").alias("reason"),
            F.col("_source_file").alias("source_file"),
            "line",
            F.col("_run_id"),
            ip.alias("ip_hash"),
            email.alias("email_hash"),
            F.col("_bronze_dt").alias("dt"),
        ).select(*REJECT_COLUMNS)


def line_numbers(rows: DataFrame, every: DataFrame) -> DataFrame:
    """``rows`` with ``line``: 1-based line of its ``_source_file``, from ``_row_id``.

    ``every`` holds every line read (one row each, ``rows`` among them): a file's first line
    has its smallest row id, and the ids of its lines are consecutive. Only a tiny per-file
    aggregate is joined, so the lines are never sorted or shuffled for it.
    """
    first = every.groupBy("_source_file").agg(F.min("_row_id").alias("_first_row_id"))
    line = (F.col("_row_id") - F.col("_first_row_id") + 1).alias("line")
    return rows.join(F.broadcast(first), "_source_file").select("*", line)
