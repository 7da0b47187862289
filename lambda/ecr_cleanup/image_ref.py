"""The one parser of ECR image references, for every source that names an image.

Task definitions, DescribeTasks, service revisions and Lambda all write references as
``<registry host>/<repository>[:<tag>][@sha256:<64 hex>]``. When a tag and a digest are both
present the digest is what is pulled (Docker and containerd ignore the tag), so it is the
digest that pins an image. Hosts are case-insensitive and come in several spellings (IPv4,
dual-stack, FIPS, China); repositories are lowercase in ECR. Anything else (Docker Hub,
ECR Public, a look-alike host, a malformed digest) is not an ECR reference: ``None``.
Pure: no boto3, so the organization keep-set can reuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCE = re.compile(
    r"""
    (?i:  # the host, in any letter case
        (?P<account>\d{12})
        \.dkr[.-]ecr(?:-fips)?
        \.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)
        \.(?:amazonaws\.com(?:\.cn)?|on\.aws|on\.amazonwebservices\.com\.cn)
    )
    /(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)
    (?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?
    (?:@(?P<digest>sha256:[0-9a-f]{64}))?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image of one ECR registry (account, region), by tag, digest, both or neither."""

    account: str
    region: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def pins(self, account: str | None, region: str) -> bool:
        """Whether this names a digest in registry (account, region).

        ``account`` None means the caller's account is unknown: any account matches, which
        can only keep more images here (the safe side).
        """
        return (
            self.digest is not None
            and self.region == region.lower()
            and (account is None or self.account == account)
        )


def parse(text: str) -> ImageRef | None:
    """The ECR image ``text`` names, or None when it is not an ECR image reference."""
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        return None
    return ImageRef(
        account=match["account"],
        region=match["region"].lower(),
        repository=match["repository"],
        tag=match["tag"],
        digest=match["digest"],
    )
