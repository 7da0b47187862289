"""EKS ListClusters and DescribeCluster, answered from the double's own table.

moto's EKS makes up an endpoint and a certificate authority that are not a PEM; here a
cluster points at a `LocalKubernetes` (its HTTPS endpoint and the base64 PEM of its CA),
or at whatever a test gives it (another CA, to mismatch; a closed port, for an endpoint
out of reach). As EKS: ListClusters pages up to 100 (`maxResults` 1..100, default 100,
an opaque `nextToken`; anything else is InvalidParameterException); DescribeCluster of an
unknown name is ResourceNotFoundException (HTTP 404).
"""

from __future__ import annotations

import threading
from typing import Any

from . import paging
from .errors import ApiError

OPERATIONS = frozenset({"ListClusters", "DescribeCluster"})
_CLUSTERS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def add(
    account: str,
    region: str,
    name: str,
    endpoint: str | None,
    ca_data: str | None,
    *,
    status: str = "ACTIVE",
    authentication_mode: str = "API_AND_CONFIG_MAP",
    public: bool = True,
    private: bool = False,
    public_cidrs: tuple[str, ...] = ("0.0.0.0/0",),
) -> None:
    cluster: dict[str, Any] = {
        "name": name,
        "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
        "version": "1.33",
        "status": status,
        "certificateAuthority": {"data": ca_data} if ca_data else {},
        "accessConfig": {"authenticationMode": authentication_mode},
        "resourcesVpcConfig": {
            "subnetIds": ["subnet-0123456789abcdef0"],
            "securityGroupIds": [],
            "clusterSecurityGroupId": "sg-0123456789abcdef0",
            "vpcId": "vpc-0123456789abcdef0",
            "endpointPublicAccess": public,
            "endpointPrivateAccess": private,
            "publicAccessCidrs": list(public_cidrs) if public else [],
        },
    }
    if endpoint:
        cluster["endpoint"] = endpoint
    with _LOCK:
        _CLUSTERS.setdefault((account, region), {})[name] = cluster


def reset(account: str | None = None) -> None:
    with _LOCK:
        for key in [k for k in _CLUSTERS if account is None or k[0] == account]:
            del _CLUSTERS[key]


def answer(operation: str, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    with _LOCK:
        clusters = dict(_CLUSTERS.get((account, region), {}))
    if operation == "ListClusters":
        size = params.get("maxResults", 100)  # a query string parameter: text on the wire
        size = int(size) if isinstance(size, str) and size.isdigit() else size
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise ApiError("InvalidParameterException", "maxResults must be between 1 and 100", 400)
        scope = "ListClusters"
        try:
            after = paging.decode(params.get("nextToken"), scope)
        except paging.BadToken:
            raise ApiError("InvalidParameterException", "The nextToken is not valid", 400) from None
        entries = [((n, ""), n) for n in sorted(clusters) if after is None or (n, "") > after]
        page, last = paging.take(iter(entries), size)
        result: dict[str, Any] = {"clusters": page}
        if last is not None:
            result["nextToken"] = paging.encode(scope, last)
        return result
    name = str(params.get("name", ""))
    if name not in clusters:
        raise ApiError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
    return {"cluster": clusters[name]}
