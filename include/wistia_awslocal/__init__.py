"""A local AWS whose services do the work (dev/test tooling, never shipped to AWS).

The pinned moto server plus in-process extensions, one ``install()`` per module: CloudFormation
resource types moto lacks (:mod:`.cfn`), Lambda ``Invoke`` running the deployed zip
(:mod:`.lambda_exec`), Glue job runs under local ``spark-submit`` (:mod:`.glue_exec`) and
Athena on DuckDB (:mod:`.athena`). ``python -m wistia_awslocal`` serves it; :mod:`.process`
starts it for tests. See ``docs/awslocal.md``.
"""
