"""Calls are recorded under botocore's names, also where two operations share a route."""

from __future__ import annotations

from tools.local_ecr import LocalEcr


def test_s3_put_and_copy_are_told_apart(ecr: LocalEcr) -> None:
    """PutObject and CopyObject are both PUT /{Bucket}/{Key+}; only CopyObject requires the
    `x-amz-copy-source` header. The benchmark's S3 request counts rely on the difference."""
    s3 = ecr.client("s3")
    s3.create_bucket(Bucket="work")
    ecr.clear_calls()

    s3.put_object(Bucket="work", Key="a.json", Body=b"{}", IfNoneMatch="*")
    s3.copy_object(Bucket="work", Key="b.json", CopySource={"Bucket": "work", "Key": "a.json"})
    s3.get_object(Bucket="work", Key="b.json")

    assert [(c.service, c.operation) for c in ecr.calls] == [
        ("s3", "PutObject"),
        ("s3", "CopyObject"),
        ("s3", "GetObject"),
    ]
