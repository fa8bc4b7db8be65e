"""Glue job: silver -> gold for the run window (AWS Glue 5.x and local spark-submit).

Arguments (Glue ``--name value`` form)::

    --start_date YYYY-MM-DD --end_date YYYY-MM-DD --lake_uri <path or s3://...>

Rewrites the window's ``dt`` partitions of ``fact_media_daily`` and ``reconciliation``
(dynamic partition overwrite; days without rows are emptied) and rebuilds ``dim_media``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import wistia_pipeline
from wistia_pipeline.glue_args import parse_date, resolve_options, window_dates
from wistia_pipeline.transforms import gold, lake_io
from wistia_pipeline.transforms.empty import empty_silver
from wistia_pipeline.transforms.tables import gold_uri, silver_uri

log = logging.getLogger("wistia_gold")

REQUIRED = ("start_date", "end_date", "lake_uri")


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = resolve_options(sys.argv if argv is None else argv, REQUIRED, {})
    start = parse_date(args["start_date"], "start_date")
    end = parse_date(args["end_date"], "end_date")
    days = window_dates(start, end)
    lake = str(args["lake_uri"]).rstrip("/")
    log.info("wistia_pipeline loaded from %s", wistia_pipeline.__file__)
    spark = lake_io.spark_session("wistia-gold")

    def window(table: str):
        df = lake_io.read_partitions(spark, silver_uri(lake, table), days)
        return df if df is not None else empty_silver(spark, table)

    medias = lake_io.read_table(spark, silver_uri(lake, "medias"))
    if medias is None:
        medias = empty_silver(spark, "medias")
    fact = lake_io.persist(
        gold.fact_media_daily(
            window("events"), window("media_daily_stats"), window("media_analytics_daily"), medias
        )
    )
    lake_io.write_window(spark, fact, gold_uri(lake, "fact_media_daily"), days, ["media_id"])
    lake_io.write_window(
        spark, gold.reconciliation(fact), gold_uri(lake, "reconciliation"), days, ["media_id"]
    )
    fact_all = lake_io.read_table(spark, gold_uri(lake, "fact_media_daily"), fact.schema)
    if fact_all is None:  # nothing written yet and nothing to write
        fact_all = fact
    lake_io.write_whole(gold.dim_media(medias, fact_all), gold_uri(lake, "dim_media"), ["media_id"])
    spark.catalog.clearCache()
    log.info("gold done for %s..%s", start, end)


if __name__ == "__main__":
    main()
