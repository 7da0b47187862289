"""EKS ListClusters and DescribeCluster, answered from the double's own table.

moto's EKS makes up an endpoint and a certificate authority that are not a PEM; here a
cluster points at a `LocalKubernetes` (its HTTPS endpoint and the base64 PEM of its CA),
or at whatever a test gives it (another CA, to mismatch).
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import ApiError

OPERATIONS = frozenset({"ListClusters", "DescribeCluster"})
_CLUSTERS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def add(account: str, region: str, name: str, endpoint: str, ca_data: str) -> None:
    cluster = {
        "name": name,
        "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
        "endpoint": endpoint,
        "certificateAuthority": {"data": ca_data},
        "status": "ACTIVE",
        "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
    }
    with _LOCK:
        _CLUSTERS.setdefault((account, region), {})[name] = cluster


def reset(account: str | None = None) -> None:
    with _LOCK:
        for key in [k for k in _CLUSTERS if account is None or k[0] == account]:
            del _CLUSTERS[key]


def answer(operation: str, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    with _LOCK:
        clusters = dict(_CLUSTERS.get((account, region), {}))
    if operation == "ListClusters":  # real EKS pages up to 100 (default 100)
        names = sorted(clusters)
        size = int(params.get("maxResults") or 100)
        start = int(params.get("nextToken") or 0)
        page: dict[str, Any] = {"clusters": names[start : start + size]}
        if start + size < len(names):
            page["nextToken"] = str(start + size)
        return page
    name = str(params.get("name", ""))
    if name not in clusters:
        raise ApiError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
    return {"cluster": clusters[name]}
