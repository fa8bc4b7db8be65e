"""Spark transforms for the Glue jobs: bronze envelopes -> silver tables -> gold tables.

``silver``/``gold`` (and ``envelope``, ``casts``, ``pii``) are pure: DataFrames (or Columns)
in and out, no storage. ``registry`` says which check and builders each stream uses,
``lake_io`` does the Spark I/O and ``jobs`` is the body of each Glue job; the scripts in
``glue_scripts/`` only parse their arguments. No Python UDFs: everything is built from Spark
SQL built-ins so the jobs stay JVM-only on the hot path.
"""
