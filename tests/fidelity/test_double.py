"""The double itself: lifecycle, isolation, call recording, fixture builders, speed."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tools.local_ecr import ApiError, Call, LocalEcr
from tools.local_ecr import manifests as m

# --- lifecycle and isolation -----------------------------------------------------------


def test_endpoint_is_local_with_an_os_chosen_port(ecr: LocalEcr) -> None:
    assert ecr.endpoint_url.startswith("http://127.0.0.1:")
    assert int(ecr.endpoint_url.rsplit(":", 1)[1]) > 0


def test_not_started_has_no_endpoint() -> None:
    with pytest.raises(RuntimeError):
        _ = LocalEcr().endpoint_url


def test_context_manager_and_other_account(fake_aws_env: None) -> None:
    with LocalEcr(region="eu-west-1", account_id="111122223333") as other:
        assert other.client("sts").get_caller_identity()["Account"] == "111122223333"
        other.create_repository("mine")
        repos = other.client("ecr").describe_repositories()["repositories"]
        assert [(r["registryId"], r["repositoryArn"].split(":")[3]) for r in repos] == [
            ("111122223333", "eu-west-1")
        ]
        other.reset()
    with pytest.raises(RuntimeError):
        _ = other.endpoint_url


def test_instances_of_different_accounts_are_isolated(ecr: LocalEcr, repo: str) -> None:
    ecr.push_image(repo)
    with LocalEcr(account_id="444455556666") as other:
        assert other.client("ecr").describe_repositories()["repositories"] == []
        other.create_repository(repo)
        other.reset()
    assert len(ecr.images(repo)) == 1


def test_reset_forgets_everything(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.push_image(repo)
    ecr.faults.throttle_rate = 0.0
    ecr.faults.vanish_after_list.add("sha256:x")
    client.list_images(repositoryName=repo)
    ecr.reset()
    assert ecr.calls == []
    assert ecr.faults.vanish_after_list == set()
    assert client.describe_repositories()["repositories"] == []
    ecr.create_repository(repo)
    assert ecr.images(repo) == {}


def test_delete_repository_helper_takes_the_images_along(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    ecr.push_image(repo)
    ecr.delete_repository(repo)
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.list_images(repositoryName=repo)
    ecr.create_repository(repo)
    assert ecr.images(repo) == {}


def test_environment_points_an_sdk_at_the_double(ecr: LocalEcr) -> None:
    env = ecr.environment()
    assert env["AWS_ENDPOINT_URL"] == ecr.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


# --- call recording --------------------------------------------------------------------


def test_every_service_is_recorded(ecr: LocalEcr, repo: str) -> None:
    ecr.client("ecr").list_images(repositoryName=repo, maxResults=5)
    ecr.client("sts").get_caller_identity()
    ecr.client("ecs").list_clusters()
    ecr.client("lambda").list_functions(FunctionVersion="ALL")
    assert ecr.calls == [
        Call("ecr", "ListImages", {"repositoryName": repo, "maxResults": 5}),
        Call("sts", "GetCallerIdentity", {}),
        Call("ecs", "ListClusters", {}),
        Call("lambda", "ListFunctions", {"FunctionVersion": "ALL"}),
    ]
    assert ecr.count("ListImages") == 1
    assert ecr.count("ListClusters", service="ecr") == 0


def test_lambda_paths_are_named_by_operation(ecr: LocalEcr, repo: str) -> None:
    ecr.create_image_function("fn", repo, ecr.push_image(repo), publish=True, alias="live")
    lam = ecr.client("lambda")
    lam.get_function(FunctionName="fn", Qualifier="live")
    lam.list_aliases(FunctionName="fn")
    assert [(c.operation, c.params) for c in ecr.calls] == [
        ("GetFunction", {"FunctionName": "fn", "Qualifier": "live"}),
        ("ListAliases", {"FunctionName": "fn"}),
    ]


def test_fixture_helpers_are_not_recorded(ecr: LocalEcr, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.run_ecs_task("c", repo, digest)
    ecr.create_image_function("fn", repo, digest)
    assert ecr.calls == []


def test_clear_calls(ecr: LocalEcr, client: Any, repo: str) -> None:
    client.list_images(repositoryName=repo)
    ecr.clear_calls()
    assert ecr.calls == []


def test_recording_is_thread_safe(ecr: LocalEcr, repo: str) -> None:
    clients = [ecr.client("ecr") for _ in range(8)]

    def work(c: Any) -> None:
        for _ in range(10):
            c.list_images(repositoryName=repo)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ecr.count("ListImages") == 80


# --- builders --------------------------------------------------------------------------


def test_push_image_is_a_real_manifest(ecr: LocalEcr, repo: str) -> None:
    docker = json.loads(ecr.manifest(repo, ecr.push_image(repo, oci=False)))
    oci = json.loads(ecr.manifest(repo, ecr.push_image(repo)))
    assert docker["mediaType"] == m.DOCKER_MANIFEST
    assert docker["config"]["mediaType"] == m.DOCKER_CONFIG
    assert oci["mediaType"] == m.OCI_MANIFEST
    assert all(layer["digest"].startswith("sha256:") for layer in oci["layers"])
    assert ecr.push_image(repo) != ecr.push_image(repo)


def test_push_multiarch_is_like_buildx(ecr: LocalEcr, repo: str) -> None:
    when = datetime(2024, 5, 6, tzinfo=UTC)
    multi = ecr.push_multiarch(
        repo, "v1", platforms=("linux/amd64", "linux/arm64/v8"), pushed_at=when
    )
    index = json.loads(ecr.manifest(repo, multi.index))
    assert index["mediaType"] == m.OCI_INDEX
    entries = index["manifests"]
    assert [e["digest"] for e in entries] == multi.platform_children + multi.attestations
    assert entries[1]["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8"}
    for attestation, child in zip(entries[2:], multi.platform_children, strict=True):
        assert attestation["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert attestation["annotations"] == {
            m.ATTESTATION_DIGEST_KEY: child,
            m.ATTESTATION_TYPE_KEY: m.ATTESTATION_MANIFEST,
        }
    for entry in entries:
        assert entry["size"] == len(ecr.manifest(repo, entry["digest"]))
    states = ecr.images(repo)
    assert states[multi.index].tags == ("v1",)
    assert states[multi.index].children == tuple(e["digest"] for e in entries)
    assert all(states[d].tags == () for d in multi.platform_children + multi.attestations)
    assert {s.pushed_at for s in states.values()} == {when}


def test_push_multiarch_docker_list_without_attestations(ecr: LocalEcr, repo: str) -> None:
    multi = ecr.push_multiarch(repo, oci=False, attestations=False)
    assert multi.attestations == []
    assert ecr.images(repo)[multi.index].media_type == m.DOCKER_MANIFEST_LIST
    assert {ecr.images(repo)[d].media_type for d in multi.platform_children} == {m.DOCKER_MANIFEST}


def test_push_referrer(ecr: LocalEcr, repo: str) -> None:
    subject = ecr.push_image(repo, "v1")
    for artifact_type in (m.NOTATION_SIGNATURE, m.COSIGN_SIGNATURE, m.SPDX_SBOM):
        digest = ecr.push_referrer(repo, subject, artifact_type=artifact_type)
        manifest = json.loads(ecr.manifest(repo, digest))
        assert manifest["artifactType"] == artifact_type
        assert manifest["subject"]["digest"] == subject
        assert manifest["subject"]["size"] == len(ecr.manifest(repo, subject))
        state = ecr.images(repo)[digest]
        assert (state.subject, state.tags, state.artifact_media_type) == (
            subject,
            (),
            artifact_type,
        )


def test_referrer_of_a_missing_subject(ecr: LocalEcr, repo: str) -> None:
    orphan = ecr.push_referrer(repo, m.random_digest())
    assert ecr.images(repo)[orphan].subject is not None


def test_put_manifest_options(ecr: LocalEcr, repo: str) -> None:
    when = datetime(2020, 1, 1, 12, 0, 0, 500_000)  # naive means UTC
    digest = ecr.put_manifest(
        repo, m.image_manifest(), m.OCI_MANIFEST, "t", pushed_at=when, status="ARCHIVED", size=42
    )
    state = ecr.images(repo)[digest]
    assert state.pushed_at == when.replace(tzinfo=UTC)
    assert (state.status, state.size, state.tags) == ("ARCHIVED", 42, ("t",))


def test_helpers_need_an_existing_repository(ecr: LocalEcr, client: Any) -> None:
    with pytest.raises(ApiError, match="RepositoryNotFound"):
        ecr.push_image("nope")
    ecr.create_repository("there")
    with pytest.raises(LookupError):
        ecr.archive("there", m.random_digest())


def test_bulk_untagged_200k_is_fast(ecr: LocalEcr, client: Any, repo: str) -> None:
    started = time.monotonic()
    ecr.bulk_untagged(repo, 200_000, pushed_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert time.monotonic() - started < 5
    page = client.list_images(
        repositoryName=repo, maxResults=1000, filter={"tagStatus": "UNTAGGED"}
    )
    assert len(page["imageIds"]) == 1000
    digest = page["imageIds"][0]["imageDigest"]
    assert m.digest_of(ecr.manifest(repo, digest)) == digest
    (detail,) = client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    assert detail["imageManifestMediaType"] == m.DOCKER_MANIFEST
    assert detail["imageSizeInBytes"] > 0
    deleted = client.batch_delete_image(
        repositoryName=repo,
        imageIds=[{"imageDigest": i["imageDigest"]} for i in page["imageIds"][:100]],
    )
    assert len(deleted["imageIds"]) == 100


def test_bulk_repositories(ecr: LocalEcr) -> None:
    names = ecr.bulk_repositories("team/app-", 3)
    assert names == ["team/app-00000", "team/app-00001", "team/app-00002"]
    assert all(ecr.images(name) == {} for name in names)


def test_concurrent_deletes_from_many_threads(ecr: LocalEcr, repo: str) -> None:
    ecr.bulk_untagged(repo, 2000, pushed_at=datetime(2024, 1, 1, tzinfo=UTC))
    batches = [sorted(ecr.images(repo))[i : i + 100] for i in range(0, 2000, 100)]
    deleted: list[int] = []

    def work(batch: list[str]) -> None:
        response = ecr.client("ecr").batch_delete_image(
            repositoryName=repo, imageIds=[{"imageDigest": d} for d in batch]
        )
        deleted.append(len(response["imageIds"]))

    threads = [threading.Thread(target=work, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(deleted) == 2000
    assert ecr.images(repo) == {}
