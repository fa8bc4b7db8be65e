# The local AWS of docker-compose.yaml (wistia_awslocal): moto server whose Lambda, Glue, Athena
# and Step Functions run for real. Java 17 + PySpark for Glue runs; DuckDB + httpfs for Athena.
FROM python:3.12.8-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

# Same pins as uv.lock (tests/e2e/test_compose.py checks them).
RUN pip install --no-cache-dir \
    "moto[server]==5.2.5" boto3==1.43.56 pyspark==3.5.8 duckdb==1.4.4 \
    duckdb-ext-httpfs==1.4.4.20260205 jsonata-python==0.7.1 sqlglot==30.15.0 requests==2.34.2

WORKDIR /app
# include/ is mounted by docker-compose.yaml; the S3A jars are fetched from PyPI at build time.
ENV PYTHONPATH=/app/include WISTIA_AWSLOCAL_JARS_DIR=/opt/jars
COPY include/wistia_awslocal/jars.py /tmp/jars.py
RUN python /tmp/jars.py --dir /opt/jars && rm /tmp/jars.py
EXPOSE 4566
