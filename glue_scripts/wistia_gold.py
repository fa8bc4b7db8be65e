"""Glue job: silver -> gold for the run window (AWS Glue 5.x and local spark-submit).

Arguments (Glue ``--name value`` form)::

    --start_date YYYY-MM-DD --end_date YYYY-MM-DD --lake_uri <path or s3://...> --run_id <id>

Reads the run's staged silver (published where the run staged none), writes the window's
``fact_media_daily`` and ``reconciliation`` and a rebuilt ``dim_media`` as new versions and
stages them (``wistia_pipeline.publishing``). The work is ``transforms.jobs.run_gold``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import wistia_pipeline
from wistia_pipeline.glue_args import WINDOW_ARGS, job_window, resolve_options
from wistia_pipeline.spark_errors import concise_failure
from wistia_pipeline.transforms import jobs, lake_io

log = logging.getLogger("wistia_gold")


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = resolve_options(sys.argv if argv is None else argv, WINDOW_ARGS, {})
    days, lake, run_id = job_window(args)
    log.info("wistia_pipeline loaded from %s", wistia_pipeline.__file__)
    jobs.run_gold(lake_io.spark_session("wistia-gold"), lake, days, run_id)
    log.info("gold done for %s..%s", days[0], days[-1])


if __name__ == "__main__":
    # A failure ends the job as one line (its root cause and file): the Glue run's
    # ErrorMessage, and the local runner's error; the full trace stays in the log.
    with concise_failure():
        main()
