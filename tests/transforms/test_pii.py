import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from wistia_pipeline.config import ConfigError
from wistia_pipeline.transforms.pii import PiiHasher, PiiKeyError, resolve_pii_key

KEYS = ["k", "unit-test-key-0b5e", "x" * 64, "long-key-" * 20, "ключ-ü"]
MESSAGES = ["203.0.113.7", "someone@example.com", "2001:db8:1a::2b", "Zoë Ünïcode ✓", "a" * 300]


@pytest.mark.parametrize("key", KEYS)
def test_hmac_matches_python_hmac(spark, key):
    df = spark.createDataFrame([(m,) for m in MESSAGES], "m string")
    hasher = PiiHasher(key)
    got = [r[0] for r in hasher.attach(df).select(hasher.hmac_hex(F.col("m"))).collect()]
    want = [hmac.new(key.encode(), m.encode(), hashlib.sha256).hexdigest() for m in MESSAGES]
    assert got == want


def test_null_and_blank_stay_null_and_email_is_normalised(spark):
    hasher = PiiHasher("k1")
    df = spark.createDataFrame([(None,), ("",), ("  ",), (" Someone@Example.COM ",)], "m string")
    rows = (
        hasher.attach(df)
        .select(hasher.hash_email(F.col("m")), hasher.hash_text(F.col("m")))
        .collect()
    )
    assert [r[0] for r in rows[:3]] == [None, None, None]
    assert [r[1] for r in rows[:3]] == [None, None, None]
    expected = hmac.new(b"k1", b"someone@example.com", hashlib.sha256).hexdigest()
    assert rows[3][0] == expected


def test_different_keys_give_different_hashes(spark):
    df = spark.createDataFrame([("203.0.113.7",)], "m string")
    a, b = (
        h.attach(df).select(h.hmac_hex(F.col("m"))).first()[0]
        for h in (PiiHasher("a"), PiiHasher("b"))
    )
    assert a != b and len(a) == 64


def test_empty_key_refused_and_repr_hides_key():
    with pytest.raises(PiiKeyError):
        PiiHasher("")
    assert "secret" not in repr(PiiHasher("secret"))


def test_key_material_never_in_plan_strings(spark):
    hasher = PiiHasher("plan-key")
    df = spark.createDataFrame([("x",)], "m string")
    out = hasher.attach(df).select(hasher.hmac_hex(F.col("m")).alias("h"))
    assert out.first()["h"]
    qe = out._jdf.queryExecution()
    plans = (qe.toString() + qe.executedPlan().toString()).lower()
    for material in (hasher._inner.hex(), hasher._outer.hex(), b"plan-key".hex(), "plan-key"):
        assert material[:24] not in plans


def test_missing_key_is_an_error(monkeypatch):
    monkeypatch.delenv("WISTIA_PII_HASH_KEY", raising=False)
    monkeypatch.delenv("WISTIA_PII_SECRET_ID", raising=False)
    with pytest.raises(ConfigError, match="PII hash key"):
        resolve_pii_key(None)
    monkeypatch.setenv("WISTIA_PII_HASH_KEY", "from-env")
    assert resolve_pii_key(None) == "from-env"


def test_key_from_secrets_manager(aws_env):
    import boto3

    boto3.client("secretsmanager").create_secret(
        Name="wistia/pii", SecretString='{"pii_hash_key": "from-secret"}'
    )
    assert resolve_pii_key("wistia/pii") == "from-secret"
