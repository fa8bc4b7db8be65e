"""Build commands for the deployable artifacts (build-time only; never shipped in them).

Each module of this package builds one artifact, e.g. :mod:`wistia_pipeline.packaging.lambda_zip`
(the ingestion Lambda's deployment zip).
"""
