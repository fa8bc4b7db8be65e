"""Object storage for the lake: one interface over a local directory and ``s3://bucket/prefix``.

URIs are absolute: a local path (``/x/lake/...``) or ``s3://bucket/key``. ``open_storage(uri)``
picks the implementation from the lake root's scheme; every method then takes full URIs.
S3 uses boto3 (which honours ``AWS_ENDPOINT_URL``, e.g. the moto server in tests). Writes are
atomic on both: S3 ``PutObject`` is, and local files are written to a temporary name and renamed.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class Storage(ABC):
    """Byte-level access to lake objects by URI."""

    @abstractmethod
    def read_bytes(self, uri: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        """Write ``data`` at ``uri``; ``content_type`` is the object's MIME type on S3 (what a
        browser opening it gets), ignored locally."""

    @abstractmethod
    def exists(self, uri: str) -> bool: ...

    @abstractmethod
    def list(self, prefix_uri: str) -> list[str]:
        """All object URIs under ``prefix_uri`` (a "directory"), recursively, sorted."""

    @abstractmethod
    def delete(self, uri: str) -> None: ...

    @staticmethod
    def join(base: str, *parts: str) -> str:
        """Join URI segments with ``/`` (works for local paths and s3:// URIs)."""
        out = base.rstrip("/")
        for part in parts:
            out += "/" + part.strip("/")
        return out


class LocalStorage(Storage):
    def read_bytes(self, uri: str) -> bytes:
        return Path(uri).read_bytes()

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, uri: str) -> bool:
        return Path(uri).is_file()

    def list(self, prefix_uri: str) -> list[str]:
        root = Path(prefix_uri)
        if not root.is_dir():
            return []
        return sorted(
            str(p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp")
        )

    def delete(self, uri: str) -> None:
        Path(uri).unlink(missing_ok=True)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"s3 URI without bucket: {uri!r}")
    return bucket, key


class S3Storage(Storage):
    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            import boto3  # deferred: the local target does not need it

            client = boto3.client("s3")
        self._s3 = client

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        bucket, key = split_s3_uri(uri)
        extra = {"ContentType": content_type} if content_type else {}
        self._s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def exists(self, uri: str) -> bool:
        from botocore.exceptions import ClientError

        bucket, key = split_s3_uri(uri)
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, prefix_uri: str) -> list[str]:
        bucket, key = split_s3_uri(prefix_uri)
        prefix = key.rstrip("/") + "/" if key else ""
        out: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            out.extend(f"s3://{bucket}/{obj['Key']}" for obj in page.get("Contents", []))
        return sorted(out)

    def delete(self, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._s3.delete_object(Bucket=bucket, Key=key)


def open_storage(uri: str) -> Storage:
    """The storage for a lake root (or any URI): S3 for ``s3://``, local otherwise."""
    if uri.startswith("s3://"):
        return S3Storage()
    if "://" in uri:
        raise ValueError(f"unsupported storage URI scheme: {uri!r} (use a path or s3://)")
    return LocalStorage()
