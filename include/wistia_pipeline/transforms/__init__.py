"""Pure Spark transforms for the Glue jobs: bronze envelopes -> silver tables -> gold tables.

Every public function here takes and returns DataFrames (or Columns); none reads or writes
storage. The Glue entry points in ``glue_scripts/`` do the I/O. No Python UDFs: everything is
built from Spark SQL built-ins so the jobs stay JVM-only on the hot path.
"""
