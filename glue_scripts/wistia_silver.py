"""Glue job: bronze -> silver for the run window (AWS Glue 5.x and local spark-submit).

Arguments (Glue ``--name value`` form)::

    --start_date YYYY-MM-DD --end_date YYYY-MM-DD --lake_uri <path or s3://...> --run_id <id>
    [--pii_secret_id <Secrets Manager id>] [--max_reject_share 0.01]

Opens the run's stage (``wistia_pipeline.publishing``), then writes the window's silver and
``_rejects`` as new versions and stages them; nothing is published (the ``publish`` step does
that once the checks pass). Fails when a table's reject share is above ``--max_reject_share``.
The work is ``transforms.jobs.run_silver``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import wistia_pipeline
from wistia_pipeline.glue_args import WINDOW_ARGS, job_window, parse_share, resolve_options
from wistia_pipeline.spark_errors import concise_failure
from wistia_pipeline.transforms import jobs, lake_io
from wistia_pipeline.transforms.pii import PiiHasher, resolve_pii_key

log = logging.getLogger("wistia_silver")

OPTIONAL = {"pii_secret_id": None, "max_reject_share": "0.01"}


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = resolve_options(sys.argv if argv is None else argv, WINDOW_ARGS, OPTIONAL)
    days, lake, run_id = job_window(args)
    max_share = parse_share(args["max_reject_share"], "max_reject_share")
    log.info("wistia_pipeline loaded from %s", wistia_pipeline.__file__)
    hasher = PiiHasher(resolve_pii_key(args["pii_secret_id"]))  # before any Spark work
    spark = lake_io.spark_session("wistia-silver")
    jobs.run_silver(spark, lake, days, run_id, hasher, max_share)
    log.info("silver done for %s..%s", days[0], days[-1])


if __name__ == "__main__":
    # A failure ends the job as one line (its root cause and file): the Glue run's
    # ErrorMessage, and the local runner's error; the full trace stays in the log.
    with concise_failure():
        main()
