"""Keyed hashing of personal data (ip, email, visitor identity) with Spark built-ins only.

Spark 3.5 has no HMAC function, so HMAC-SHA256 is built per RFC 2104 from ``sha2``, ``unhex``
and ``concat`` over binary columns::

    HMAC(K, m) = SHA256((K' xor opad) || SHA256((K' xor ipad) || m))

where ``K'`` is the key padded with zeros to the SHA-256 block size (64 bytes), or first
hashed with SHA-256 when longer than the block. The two padded keys are computed once in
Python and enter Spark as *data* (a one-row broadcast relation joined by :meth:`attach`), never
as literals: literals are printed in plan strings (driver logs, Spark UI, event logs), and the
padded key gives the key back with one XOR.
"""

from __future__ import annotations

import hashlib

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StructField, StructType

from .frames import local_frame

BLOCK_SIZE = 64  # SHA-256 block size in bytes
INNER_COL = "_pii_inner_pad"
OUTER_COL = "_pii_outer_pad"


class PiiKeyError(ValueError):
    """The PII hashing key is missing or unusable."""


def _padded_keys(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\x00")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return inner, outer


class PiiHasher:
    """HMAC-SHA256 (lower-case hex) of string columns under one secret key."""

    def __init__(self, key: str | bytes) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not key:
            raise PiiKeyError("PII hash key is empty; refusing to hash with an empty key")
        self._inner, self._outer = _padded_keys(key)

    def __repr__(self) -> str:  # never show key material
        return "PiiHasher(<redacted>)"

    def attach(self, df: DataFrame) -> DataFrame:
        """``df`` plus the two padded-key columns :meth:`hmac_hex` reads (drop them after)."""
        schema = StructType(
            [StructField(INNER_COL, BinaryType()), StructField(OUTER_COL, BinaryType())]
        )
        keys = local_frame(df.sparkSession, [(self._inner, self._outer)], schema)
        return df.crossJoin(F.broadcast(keys))

    @staticmethod
    def hmac_hex(value: Column) -> Column:
        """HMAC-SHA256 of ``value`` (UTF-8 bytes) as 64 hex chars; null stays null.

        Only valid on a DataFrame returned by :meth:`attach`.
        """
        inner_digest = F.unhex(F.sha2(F.concat(F.col(INNER_COL), value.cast("binary")), 256))
        return F.sha2(F.concat(F.col(OUTER_COL), inner_digest), 256)

    def hash_email(self, value: Column) -> Column:
        """Hash of the trimmed, lower-cased email; blank or null -> null."""
        return self.hmac_hex(blank_to_null(F.lower(F.trim(value))))

    def hash_text(self, value: Column) -> Column:
        """Hash of a trimmed identifier (ip, name); blank or null -> null."""
        return self.hmac_hex(blank_to_null(F.trim(value)))


def blank_to_null(value: Column) -> Column:
    """``""`` (and whitespace-only) -> null, anything else unchanged."""
    return F.when(F.trim(value) == "", F.lit(None).cast("string")).otherwise(value)


def resolve_pii_key(pii_secret_id: str | None) -> str:
    """The HMAC key: Secrets Manager ``pii_secret_id`` when given (Glue), else the settings
    (``WISTIA_PII_HASH_KEY`` / ``WISTIA_PII_SECRET_ID``). Missing -> ``ConfigError``."""
    from wistia_pipeline.config import load_settings, read_secret

    if pii_secret_id:
        return read_secret(pii_secret_id, json_key="pii_hash_key")
    return load_settings().require_pii_hash_key()
