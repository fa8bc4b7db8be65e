"""Small DataFrames from Python values, built in the JVM."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

_VALUE_TYPES = (str, bytes, bytearray, type(None))


def local_frame(
    spark: SparkSession, rows: Iterable[Sequence[str | bytes | None]], schema: StructType
) -> DataFrame:
    """``rows`` as a DataFrame of ``schema``: a local relation built in the JVM.

    ``spark.createDataFrame`` on a Python list builds a Python RDD: reading it starts Python
    worker processes (a daemon start on the job's critical path and about a second of CPU per
    job), and the optimiser cannot tell that an empty one is empty. A local relation costs
    neither, and like any relation's data its values are not printed in plan strings. Values
    are ``str`` (string columns), ``bytes`` (binary columns) or None.
    """
    jvm, gateway = spark._jvm, spark.sparkContext._gateway
    assert jvm is not None and gateway is not None
    java_rows = jvm.java.util.ArrayList()
    for row in rows:
        if len(row) != len(schema.fields):
            raise ValueError(f"row of {len(row)} values for {len(schema.fields)} columns")
        values = gateway.new_array(jvm.java.lang.Object, len(row))
        for index, value in enumerate(row):
            if not isinstance(value, _VALUE_TYPES):
                raise TypeError(f"local_frame takes str, bytes or None, not {type(value)}")
            values[index] = bytearray(value) if isinstance(value, bytes) else value
        java_rows.add(jvm.org.apache.spark.sql.RowFactory.create(values))
    java_schema = spark._jsparkSession.parseDataType(schema.json())
    return DataFrame(spark._jsparkSession.createDataFrame(java_rows, java_schema), spark)
