"""Every in-use lookup goes through here, so any failure names the call that failed.

A protection whose lookup fails cannot be trusted, so the run must delete nothing; the
operator then needs to know which permission or service is at fault, and for what.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.image_ref import ImageRef, parse


class LookupFailed(Exception):
    """An in-use lookup failed; the message names it as ``service:Operation`` (and the ARN)."""


def call(client: Any, method: str, about: str | None = None, **params: Any) -> dict[str, Any]:
    """One API call; a ClientError or BotoCoreError becomes LookupFailed naming it and ``about``."""
    try:
        response: dict[str, Any] = getattr(client, method)(**params)
    except (ClientError, BotoCoreError) as error:
        raise failed(client, method, _reason(error), about) from error
    return response


def items(client: Any, method: str, key: str, **params: Any) -> Iterator[Any]:
    """Stream ``key``'s entries over every page of a paginated call, naming it on failure."""
    try:
        for page in client.get_paginator(method).paginate(**params):
            yield from page.get(key, [])
    except (ClientError, BotoCoreError) as error:
        raise failed(client, method, _reason(error)) from error


def check_failures(
    client: Any, method: str, response: dict[str, Any], gone: Collection[str] = ()
) -> None:
    """ECS describe calls answer 200 with ``failures[]`` for what they could not read.

    An entry whose reason is in ``gone`` means the resource no longer exists and pins
    nothing; any other is something that could pin a digest and cannot be read.
    """
    for failure in response.get("failures", []):
        if failure.get("reason") not in gone:
            detail = " ".join(filter(None, (failure.get("reason"), failure.get("detail"))))
            raise failed(client, method, detail or "unreadable", failure.get("arn", "?"))


def failed(client: Any, method: str, reason: str, about: str | None = None) -> LookupFailed:
    """``in-use lookup service:Operation failed[ for ARN]: reason``."""
    service = client.meta.service_model.endpoint_prefix
    operation = client.meta.method_to_api_mapping.get(method, method)
    subject = f" for {about}" if about else ""
    return LookupFailed(f"in-use lookup {service}:{operation} failed{subject}: {reason}")


def resolved(
    client: Any, method: str, about: str, image: str | None, digest: str | None
) -> set[ImageRef]:
    """What an ECS container runs: ``image`` names the registry, ``digest`` the resolved image.

    ECS reports ``imageDigest`` once it has resolved the image (a PENDING task before the
    pull has none); the digest in ``image`` counts as well, as the one pulled when both are
    there. A digest whose ``image`` is absent cannot be placed in any registry: that fails
    the lookup rather than dropping a digest. A non-ECR ``image`` pins nothing in ECR.
    """
    if image is None:
        if digest:
            raise failed(client, method, f"imageDigest {digest} without an image", about)
        return set()
    ref = parse(image)
    if ref is None:
        return set()
    refs = {ref} if ref.digest else set()
    if digest and digest != ref.digest:
        refs.add(ImageRef(ref.account, ref.region, ref.repository, ref.tag, digest))
    return refs


def _reason(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"
