"""Airflow-side code of the Wistia pipeline: operators, the checks runner, callbacks.

Shipped to MWAA in ``plugins.zip`` (its root is on ``sys.path``). Modules here import only
``airflow.sdk`` and ``wistia_pipeline.pipeline`` at top level; provider hooks, boto3, Spark and
DuckDB are imported inside ``execute()`` so the DAG file parses fast.
"""
