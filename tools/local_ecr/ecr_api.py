"""The ECR operations the double answers itself, with the semantics of the real service.

Each handler takes the request parameters and returns the response payload (or raises
`ApiError`). Everything not listed in `HANDLERS` goes to moto, after the registryId check
real ECR applies to every call.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from . import paging
from .errors import ApiError, image_not_found, invalid_parameter, repository_not_found
from .registry import ACTIVATING, ACTIVE, ARCHIVED, Registry, RepoImages, StoredImage, new_image
from .registry import utcnow as _now

MAX_IDS = 100
TAG_STATUSES = ("TAGGED", "UNTAGGED", "ANY")
IMAGE_STATUSES = (ACTIVE, ARCHIVED, ACTIVATING, "ANY")
DIGEST_RE = re.compile(r"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+")
TAG_RE = re.compile(r"[\w][\w.-]{0,299}")

Key = paging.Key
Handler = Callable[[Registry, dict[str, Any]], dict[str, Any]]


def check_registry(registry: Registry, params: dict[str, Any]) -> None:
    """Any ECR call naming another account's registry finds no repository there."""
    registry_id = params.get("registryId")
    if registry_id is not None and registry_id != registry.account_id:
        raise repository_not_found(str(params.get("repositoryName", "")), registry_id)


def delete_repository_allowed(registry: Registry, params: dict[str, Any]) -> None:
    """DeleteRepository without `force` refuses a repository that still has images.

    moto checks its own (always empty) image list, so the check is made here; moto then
    deletes the repository, and our image table with it.
    """
    name = params.get("repositoryName", "")
    table = registry.repository(name, params.get("registryId"))
    if table.images and not params.get("force"):
        raise ApiError(
            "RepositoryNotEmptyException",
            f"The repository with name '{name}' in registry with id '{registry.account_id}' "
            "cannot be deleted because it still contains images",
        )


def list_images(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """ListImages: 100 per page by default, opaque tokens, ACTIVE only unless asked."""
    name, table = _repository(registry, params)
    limit = _max_results(params)
    tag_status, image_status = _filter(params)
    scope = f"ListImages|{name}|{tag_status}|{image_status}"
    after = _decode_token(params.get("nextToken"), scope)

    def entries() -> Iterator[tuple[Key, dict[str, str]]]:
        for image in _scan(table, after, tag_status, image_status):
            for tag in sorted(image.tags) or [""]:
                key = (image.digest, tag)
                if after is None or key > after:
                    yield key, {"imageDigest": image.digest, **({"imageTag": tag} if tag else {})}

    ids, next_key = paging.take(entries(), limit)
    return _with_token({"imageIds": ids}, scope, next_key)


def describe_images(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImages: by up to 100 ids (one missing id fails the call), or filter + paging."""
    name, table = _repository(registry, params)
    registry_id = registry.account_id
    if params.get("imageIds") is not None:
        if params.get("maxResults") is not None or params.get("nextToken") is not None:
            raise invalid_parameter(
                "Invalid parameter: 'maxResults' and 'nextToken' cannot be used with 'imageIds'"
            )
        details: dict[str, dict[str, Any]] = {}
        for image_id in _image_ids(params):
            image = table.find(image_id)
            if image is None:
                raise image_not_found(image_id, name, registry_id)
            details.setdefault(image.digest, _detail(table, image, name, registry_id))
        return {"imageDetails": list(details.values())}
    limit = _max_results(params)
    tag_status, image_status = _filter(params)
    scope = f"DescribeImages|{name}|{tag_status}|{image_status}"
    after = _decode_token(params.get("nextToken"), scope)
    found = (
        ((image.digest, ""), _detail(table, image, name, registry_id))
        for image in _scan(table, after, tag_status, image_status)
        if after is None or image.digest > after[0]
    )
    page, next_key = paging.take(found, limit)
    return _with_token({"imageDetails": page}, scope, next_key)


def batch_get_image(
    registry: Registry, params: dict[str, Any], archived_failure: str | None = None
) -> dict[str, Any]:
    """BatchGetImage: the exact manifest bytes; unknown ids are failures, not errors.

    `archived_failure` (a failure code) is the answer for an archived image, which cannot
    be pulled; ECR does not document it, so tests choose (Faults.archived_manifest).
    """
    name, table = _repository(registry, params)
    accepted = params.get("acceptedMediaTypes")
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for image_id in _image_ids(params):
        code = _id_problem(image_id)
        image = table.find(image_id) if code is None else None
        if image is not None and accepted and image.media_type not in accepted:
            image = None
        if image is None:
            failures.append(_failure(image_id, code or "ImageNotFound"))
            continue
        if archived_failure is not None and image.status == ARCHIVED:
            failures.append(_failure(image_id, archived_failure))
            continue
        images.append(
            {
                "registryId": registry.account_id,
                "repositoryName": name,
                "imageId": {**image_id, "imageDigest": image.digest},
                "imageManifest": image.manifest.decode("utf-8"),
                "imageManifestMediaType": image.media_type,
            }
        )
    return {"images": images, "failures": failures}


def batch_delete_image(
    registry: Registry, params: dict[str, Any], failure_codes: dict[str, str] | None = None
) -> dict[str, Any]:
    """BatchDeleteImage: at most 100 ids; children of an index in the repo are refused.

    References are judged on the repository as it was when the call arrived, so an index
    and its children sent in one call delete the index and refuse the children (a cleanup
    must delete indexes first, then their children in a later call). Referrers are not
    protected. `failure_codes` (digest → code) is the fault hook: those ids fail instead.
    """
    _, table = _repository(registry, params)
    ids = _image_ids(params)
    referenced = {
        image.digest: set(table.parents.get(image.digest, ()))
        for image in map(table.find, ids)
        if image is not None
    }
    deleted: list[dict[str, str]] = []
    failures: list[dict[str, Any]] = []
    for image_id in ids:
        code = _id_problem(image_id) or _tag_mismatch(table, image_id)
        image = table.find(image_id) if code is None else None
        forced = (failure_codes or {}).get(image.digest) if image is not None else None
        if image is None or forced is not None:
            failures.append(_failure(image_id, forced or code or "ImageNotFound"))
            continue
        tag = image_id.get("imageTag")
        if "imageDigest" not in image_id and tag is not None and len(image.tags) > 1:
            table.untag(tag)
        elif referenced.get(image.digest):
            failures.append(
                _failure(image_id, "ImageReferencedByManifestList", referenced[image.digest])
            )
            continue
        else:
            table.remove(image.digest)
        deleted.append({**image_id, "imageDigest": image.digest})
    _replay_deletions(registry, str(params.get("repositoryName", "")), deleted)
    return {"imageIds": deleted, "failures": failures}


def _replay_deletions(registry: Registry, name: str, deleted: list[dict[str, str]]) -> None:
    """ECR replays a deletion to every destination of a replication rule that matches the
    repository and has `deleteReplication` set: the same digests go there too (a
    destination without the repository or the image is skipped)."""
    digests = {entry["imageDigest"] for entry in deleted if "imageTag" not in entry}
    if not digests:
        return
    rules = (registry.backend.replication_config or {}).get("rules", [])
    for rule in rules:
        if not (rule.get("deleteReplication") or {}).get("enabled"):
            continue
        prefixes = [f["filter"] for f in rule.get("repositoryFilters", [])]
        if prefixes and not any(name.startswith(prefix) for prefix in prefixes):
            continue
        for destination in rule.get("destinations", []):
            there = Registry(destination["registryId"], destination["region"])
            if (there.account_id, there.region) == (registry.account_id, registry.region):
                continue
            if name not in there.repository_names():
                continue  # no such repository there: nothing to replay
            table = there.repository(name)
            for digest in digests:
                if table.find({"imageDigest": digest}) is not None:
                    table.remove(digest)


def put_image(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """PutImage: digest = sha256 of the bytes sent; a moved tag leaves its old image untagged."""
    name = params.get("repositoryName", "")
    manifest = str(params.get("imageManifest", "")).encode("utf-8")
    image = new_image(manifest, params.get("imageManifestMediaType"))
    tag = params.get("imageTag")
    stored = registry.put(
        name,
        image,
        tag,
        registry_id=params.get("registryId"),
        expected_digest=params.get("imageDigest"),
    )
    image_id = {"imageDigest": stored.digest, **({"imageTag": tag} if tag else {})}
    return {
        "image": {
            "registryId": registry.account_id,
            "repositoryName": name,
            "imageId": image_id,
            "imageManifest": stored.manifest.decode("utf-8"),
            "imageManifestMediaType": stored.media_type,
        }
    }


def describe_repositories(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeRepositories: named (all must exist) or paged, 100 per page by default."""
    names = params.get("repositoryNames")
    if names is not None:
        if params.get("maxResults") is not None or params.get("nextToken") is not None:
            raise invalid_parameter(
                "Invalid parameter: 'maxResults' and 'nextToken' cannot be used with "
                "'repositoryNames'"
            )
        _check_count("repositoryNames", names)
        repos = [registry.moto_repository(n, params.get("registryId")) for n in names]
        return {"repositories": [_repository_json(r) for r in repos]}
    limit = _max_results(params)
    scope = "DescribeRepositories"
    after = _decode_token(params.get("nextToken"), scope)
    backend_repos = registry.backend.repositories
    found = (
        ((name, ""), _repository_json(backend_repos[name]))
        for name in registry.repository_names()
        if after is None or name > after[0]
    )
    page, next_key = paging.take(found, limit)
    return _with_token({"repositories": page}, scope, next_key)


def list_image_referrers(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """ListImageReferrers (moto lacks it): the OCI 1.1 artifacts whose subject is an image."""
    name, table = _repository(registry, params)
    subject = (params.get("subjectId") or {}).get("imageDigest", "")
    limit = _max_results(params, default=50, maximum=50)
    filters = params.get("filter") or {}
    types = filters.get("artifactTypes") or None
    status = filters.get("artifactStatus", ACTIVE)
    if status not in IMAGE_STATUSES:
        raise invalid_parameter(f"Invalid parameter at 'artifactStatus': '{status}'")
    scope = f"ListImageReferrers|{name}|{subject}|{types}|{status}"
    after = _decode_token(params.get("nextToken"), scope)
    candidates = sorted(table.referrers.get(subject, ()))
    found = (
        ((digest, ""), _referrer_json(table.images[digest]))
        for digest in candidates
        if (after is None or digest > after[0])
        and (status == "ANY" or table.images[digest].status == status)
        and (types is None or table.images[digest].artifact_media_type in types)
    )
    page, next_key = paging.take(found, limit)
    return _with_token({"referrers": page}, scope, next_key)


def describe_registry(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeRegistry: moto serializes a rule's `deleteReplication` boolean as `{}`."""
    return {
        "registryId": registry.account_id,
        "replicationConfiguration": registry.backend.replication_config,
    }


def update_image_storage_class(registry: Registry, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateImageStorageClass (moto lacks it): ARCHIVE archives; STANDARD starts a restore."""
    name, table = _repository(registry, params)
    image_id = params.get("imageId") or {}
    image = table.find(image_id)
    if image is None:
        raise image_not_found(image_id, name, registry.account_id)
    target = params.get("targetStorageClass")
    if target == "ARCHIVE" and image.status != ARCHIVED:
        image.status, image.last_archived_at = ARCHIVED, _now()
    elif target == "STANDARD" and image.status == ARCHIVED:
        image.status = ACTIVATING
    elif target not in ("ARCHIVE", "STANDARD"):
        raise invalid_parameter(f"Invalid parameter at 'targetStorageClass': '{target}'")
    return {
        "registryId": registry.account_id,
        "repositoryName": name,
        "imageId": {**image_id, "imageDigest": image.digest},
        "imageStatus": image.status,
    }


HANDLERS: dict[str, Handler] = {
    "DescribeRegistry": describe_registry,
    "ListImages": list_images,
    "DescribeImages": describe_images,
    "BatchGetImage": batch_get_image,
    "BatchDeleteImage": batch_delete_image,
    "PutImage": put_image,
    "DescribeRepositories": describe_repositories,
    "ListImageReferrers": list_image_referrers,
    "UpdateImageStorageClass": update_image_storage_class,
}


def listed_digests(operation: str, response: dict[str, Any]) -> list[str]:
    """The digests a listing response showed the caller (for the after-list faults)."""
    if operation == "ListImages":
        return [entry["imageDigest"] for entry in response.get("imageIds", [])]
    if operation == "DescribeImages":
        return [detail["imageDigest"] for detail in response.get("imageDetails", [])]
    return []


def timestamp(when: datetime) -> float:
    """JSON 1.1 timestamps are epoch seconds; keep the sub-second part ECR sends."""
    return when.timestamp()


def _with_token(payload: dict[str, Any], scope: str, next_key: Key | None) -> dict[str, Any]:
    if next_key is not None:
        payload["nextToken"] = paging.encode(scope, next_key)
    return payload


def _decode_token(token: Any, scope: str) -> Key | None:
    try:
        return paging.decode(token, scope)
    except paging.BadToken:
        raise invalid_parameter(
            "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'"
        ) from None


def _repository(registry: Registry, params: dict[str, Any]) -> tuple[str, RepoImages]:
    name = str(params.get("repositoryName", ""))
    return name, registry.repository(name, params.get("registryId"))


def _max_results(params: dict[str, Any], *, default: int = 100, maximum: int = 1000) -> int:
    value = params.get("maxResults")
    if value is None:
        return default
    if not isinstance(value, int) or not 1 <= value <= maximum:
        raise invalid_parameter(
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: "
            f"'Member must have value between 1 and {maximum}'"
        )
    return value


def _filter(params: dict[str, Any]) -> tuple[str, str]:
    filters = params.get("filter") or {}
    tag_status = filters.get("tagStatus", "ANY")
    image_status = filters.get("imageStatus", ACTIVE)
    if tag_status not in TAG_STATUSES:
        raise invalid_parameter(f"Invalid parameter at 'tagStatus': '{tag_status}'")
    if image_status not in IMAGE_STATUSES:
        raise invalid_parameter(f"Invalid parameter at 'imageStatus': '{image_status}'")
    return tag_status, image_status


def _check_count(field: str, items: Any) -> None:
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_IDS:
        raise invalid_parameter(
            f"Invalid parameter at '{field}' failed to satisfy constraint: "
            f"'Member must have length between 1 and {MAX_IDS}'"
        )


def _image_ids(params: dict[str, Any]) -> list[dict[str, str]]:
    ids = params.get("imageIds")
    _check_count("imageIds", ids)
    assert isinstance(ids, list)
    return [i if isinstance(i, dict) else {} for i in ids]


def _scan(
    table: RepoImages, after: Key | None, tag_status: str, image_status: str
) -> Iterator[StoredImage]:
    """Images in listing order from the token's position, filtered as ECR filters."""
    start = 0
    if after is not None:
        start = bisect.bisect_left(table.order, after[0])
    order = table.order
    for index in range(start, len(order)):
        image = table.images[order[index]]
        if image_status not in ("ANY", image.status):
            continue
        if (tag_status == "TAGGED" and not image.tags) or (tag_status == "UNTAGGED" and image.tags):
            continue
        yield image


def _tag_mismatch(table: RepoImages, image_id: dict[str, str]) -> str | None:
    """Both tag and digest given, and the tag is on another image."""
    tagged = table.tags.get(image_id.get("imageTag", ""))
    if tagged is not None and image_id.get("imageDigest", tagged) != tagged:
        return "ImageTagDoesNotMatchDigest"
    return None


def _id_problem(image_id: dict[str, str]) -> str | None:
    """The failure code ECR gives a malformed ImageIdentifier, if any."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        return "MissingDigestAndTag"
    if digest is not None and not DIGEST_RE.fullmatch(digest):
        return "InvalidImageDigest"
    if tag is not None and not TAG_RE.fullmatch(tag):
        return "InvalidImageTag"
    return None


_REASONS = {
    "MissingDigestAndTag": "Invalid request parameters: both tag and digest cannot be null",
    "InvalidImageDigest": "Invalid request parameters: image digest should satisfy the regex "
    "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    "InvalidImageTag": "Invalid request parameters: image tag is invalid",
    "ImageNotFound": "Requested image not found",
    "ImageTagDoesNotMatchDigest": "Invalid request parameters: image tag does not match digest",
    "ImageReferencedByManifestList": "Requested image referenced by manifest list",
}


def _failure(
    image_id: dict[str, str], code: str, parents: set[str] | None = None
) -> dict[str, Any]:
    reason = _REASONS.get(code, f"Injected failure: {code}")
    if parents:
        reason = f"{reason}: [{', '.join(sorted(parents))}]"
    return {"imageId": image_id, "failureCode": code, "failureReason": reason}


def _detail(table: RepoImages, image: StoredImage, name: str, registry_id: str) -> dict[str, Any]:
    """ImageDetail with every field ECR fills in (moto has only the first few)."""
    detail: dict[str, Any] = {
        "registryId": registry_id,
        "repositoryName": name,
        "imageDigest": image.digest,
        "imageSizeInBytes": table.size_of(image),
        "imagePushedAt": timestamp(image.pushed_at),
        "imageManifestMediaType": image.media_type,
        "imageStatus": image.status,
    }
    if image.tags:
        detail["imageTags"] = list(image.tags)
    if image.artifact_media_type is not None:
        detail["artifactMediaType"] = image.artifact_media_type
    if image.last_pulled_at is not None:
        detail["lastRecordedPullTime"] = timestamp(image.last_pulled_at)
    if image.subject is not None:
        detail["subjectManifestDigest"] = image.subject
    if image.last_archived_at is not None:
        detail["lastArchivedAt"] = timestamp(image.last_archived_at)
    if image.last_activated_at is not None:
        detail["lastActivatedAt"] = timestamp(image.last_activated_at)
    return detail


def _referrer_json(image: StoredImage) -> dict[str, Any]:
    annotations = json.loads(image.manifest).get("annotations") or {}
    entry: dict[str, Any] = {
        "digest": image.digest,
        "mediaType": image.media_type,
        "size": len(image.manifest),
        "artifactStatus": image.status,
    }
    if image.artifact_media_type is not None:
        entry["artifactType"] = image.artifact_media_type
    if annotations:
        entry["annotations"] = annotations
    return entry


def _repository_json(repo: Any) -> dict[str, Any]:
    created = repo.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return {
        "repositoryArn": repo.arn,
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "repositoryUri": repo.uri,
        "createdAt": timestamp(created),
        "imageTagMutability": str(
            getattr(repo.image_tag_mutability, "value", repo.image_tag_mutability)
        ),
        "imageScanningConfiguration": repo.image_scanning_configuration,
        "encryptionConfiguration": repo.encryption_configuration,
    }
