"""Stand-in handlers that exercise the harness itself (tests/org/test_harness.py), not the
product: they read and write what the hub's do, through the same endpoint and roles."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import boto3

_lock = threading.Lock()


def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    items = [
        {"index": i, "account": account, "region": "eu-west-1"}
        for i, account in enumerate(os.environ["STANDIN_ACCOUNTS"].split(","))
    ]
    key = f"runs/{event['run']}/items.json"
    bucket = os.environ["WORK_BUCKET"]
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(items))
    return {"bucket": bucket, "key": key}


def clean(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """List the target's repositories through its role; a missing role raises."""
    role = f"arn:aws:iam::{event['account']}:role/Spoke"
    with _lock:  # boto3's default session is not thread-safe to create clients from
        sts = boto3.client("sts")
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="standin")["Credentials"]
    with _lock:
        ecr = boto3.client(
            "ecr",
            region_name=event["region"],
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    time.sleep(0.3)  # long enough for the map's children to overlap
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    return {"account": event["account"], "repositories": names}


def summary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"summarized": event["key"]}
