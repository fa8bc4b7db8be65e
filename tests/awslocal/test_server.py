"""The server itself: extensions installed before serving, control API, plain moto underneath."""

from __future__ import annotations

import boto3
import requests


def test_health_lists_the_installed_extensions(awslocal) -> None:
    health = requests.get(f"{awslocal.url}/_awslocal/health", timeout=5).json()
    assert health["status"] == "ok" and health["endpoint"] == awslocal.url
    assert {"cfn", "lambda_exec", "glue_exec"} <= set(health["extensions"])


def test_fault_knobs_round_trip_and_reject_unknown_names(awslocal) -> None:
    url = f"{awslocal.url}/_awslocal/faults"
    assert awslocal.set_faults({"glue_fail": {"j": "boom"}}) == {"glue_fail": {"j": "boom"}}
    assert requests.get(url, timeout=5).json() == {"glue_fail": {"j": "boom"}}
    bad = requests.post(url, json={"nope": 1}, timeout=5)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    assert requests.delete(url, timeout=5).json() == {}


def test_moto_services_answer_on_the_same_port(aws) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="plain-moto-check")
    assert "plain-moto-check" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
