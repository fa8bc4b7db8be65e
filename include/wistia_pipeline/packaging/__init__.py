"""Build commands for the deployable artifacts (build-time only; never shipped in them).

- :mod:`wistia_pipeline.packaging.lambda_zip`: the ingestion Lambda's deployment zip.
"""
