# The Airflow image of docker-compose.yaml: the official Airflow 3.3.1 image (MWAA's version)
# plus Java 17 and PySpark, so the local target can run the Glue scripts under local Spark.
FROM apache/airflow:3.3.1-python3.12

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

USER airflow
# Same pins as uv.lock; the Airflow/provider versions come from the base image.
RUN pip install --no-cache-dir \
    --constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt" \
    pyspark==3.5.8 duckdb==1.4.4 sqlglot==30.15.0

# Project code is mounted by docker-compose.yaml (dags/, plugins/, include/, glue_scripts/).
ENV PYTHONPATH=/opt/airflow/include:/opt/airflow/plugins
