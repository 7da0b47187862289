"""The model members the decisions read, checked at init against the loaded botocore models.

botocore drops every response member its model does not know. On an older runtime SDK a
missing ``subjectManifestDigest`` would make a kept image's signature look unreferenced (and
be deleted); a missing ``imageStatus`` would hide a restore in progress. So the function
refuses to run, naming the members, rather than decide on a silently thinner answer. The
check reads the models the clients already loaded (``client.meta.service_model``): a few
dictionary lookups, no file read and no call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import botocore
from botocore.model import NoShapeFoundError, ServiceModel

from ecr_cleanup.clients import Clients
from ecr_cleanup.errors import ConfigError

# service -> shape -> members the decisions read (ECR always; the in-use services).
REQUIRED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "ecr": {
        "ImageDetail": ("subjectManifestDigest", "imageStatus", "lastRecordedPullTime"),
        "ListImagesFilter": ("imageStatus",),
        "DescribeImagesFilter": ("imageStatus",),
        "ReplicationRule": ("deleteReplication",),
        "DeleteReplication": ("enabled",),
        "DescribeRegistryResponse": ("replicationConfiguration",),
    },
    "ecs": {
        "Service": ("currentServiceRevisions",),
        "ContainerImage": ("imageDigest",),
    },
    "lambda": {"FunctionCodeLocation": ("ResolvedImageUri",)},
    "batch": {
        "JobDefinition": (
            "containerProperties",
            "nodeProperties",
            "ecsProperties",
            "eksProperties",
        ),
        "EksPodProperties": ("containers", "initContainers"),
        "JobSummary": ("jobDefinition",),
        "JobDetail": ("container", "nodeProperties", "ecsProperties", "eksProperties"),
    },
    "apprunner": {"ImageRepository": ("ImageIdentifier", "ImageRepositoryType")},
    "eks": {"Cluster": ("arn", "endpoint", "certificateAuthority", "accessConfig")},
}
REQUIRED_OPERATIONS: Mapping[str, tuple[str, ...]] = {
    "ecr": ("DescribeRegistry",),
    "ecs": ("DescribeServiceRevisions",),
}


def missing_members(models: Mapping[str, ServiceModel]) -> list[str]:
    """``service:Shape.member`` for each required member absent from the given models."""
    missing = []
    for service, model in models.items():
        for operation in REQUIRED_OPERATIONS.get(service, ()):
            if operation not in model.operation_names:
                missing.append(f"{service}:{operation} (operation)")
        for shape, members in REQUIRED.get(service, {}).items():
            known = _members(model, shape)
            missing += [f"{service}:{shape}.{member}" for member in members if member not in known]
    return missing


def check_sdk(clients: Clients) -> None:
    """Refuse to run (ConfigError) when a loaded model lacks a member the decisions read."""
    models = {
        service: client.meta.service_model
        for service, client in (
            ("ecr", clients.ecr),
            ("ecs", clients.ecs),
            ("lambda", clients.lambda_),
            ("batch", clients.batch),
            ("apprunner", clients.app_runner),
            ("eks", clients.eks),
        )
        if client is not None
    }
    if missing := missing_members(models):
        raise ConfigError(
            f"the SDK (botocore {botocore.__version__}) lacks model members the decisions "
            f"read, so their values would be silently dropped: {', '.join(missing)}"
        )


def _members(model: ServiceModel, shape: str) -> Iterable[str]:
    try:
        found: Any = model.shape_for(shape)
    except NoShapeFoundError:
        return ()
    members: Mapping[str, Any] = getattr(found, "members", {})
    return members.keys()
