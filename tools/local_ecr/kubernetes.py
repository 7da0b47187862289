"""A local Kubernetes API server double: the list endpoints an in-use lookup reads, over TLS.

Each `LocalKubernetes` is one cluster: a trustme CA signs its certificate for 127.0.0.1, it
serves `/api/v1/pods` and the `apps/v1`, `batch/v1` controller lists across all namespaces
with `limit`/`continue` paging, checks that the bearer token has EKS's shape (`k8s-aws-v1.`
+ base64url, no padding, of a presigned STS GetCallerIdentity URL on a real regional STS
host signed over `x-k8s-aws-id`), and can refuse: `refuse = 401 | 403 | "timeout"`, or
`unauthorized_once` (one 401, as for an expired token). It records every request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

PATHS = {
    "Pod": "/api/v1/pods",
    "Deployment": "/apis/apps/v1/deployments",
    "ReplicaSet": "/apis/apps/v1/replicasets",
    "StatefulSet": "/apis/apps/v1/statefulsets",
    "DaemonSet": "/apis/apps/v1/daemonsets",
    "Job": "/apis/batch/v1/jobs",
    "CronJob": "/apis/batch/v1/cronjobs",
}
STS_HOST = re.compile(r"sts\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com(\.cn)?")
TIMEOUT_SLEEP_SECONDS = 25.0  # longer than the function's read timeout


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    token_ok: bool


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log."""


def token_problem(header: str, cluster: str) -> str | None:
    """Why ``header`` is not an EKS bearer token for ``cluster`` (None when it is)."""
    if not header.startswith("Bearer k8s-aws-v1."):
        return "not a k8s-aws-v1 bearer token"
    encoded = header.removeprefix("Bearer k8s-aws-v1.")
    if "=" in encoded or "+" in encoded or "/" in encoded:
        return "not base64url without padding"
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "not base64url"
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme != "https" or not STS_HOST.fullmatch(parts.hostname or ""):
        return f"not presigned on a regional STS host: {parts.hostname}"
    if query.get("Action") != "GetCallerIdentity":
        return "not GetCallerIdentity"
    if "x-k8s-aws-id" not in query.get("X-Amz-SignedHeaders", "").split(";"):
        return "x-k8s-aws-id is not signed"
    if not query.get("X-Amz-Signature") or not cluster:
        return "unsigned"
    return None


@dataclass
class LocalKubernetes:
    """One cluster's API server on 127.0.0.1, HTTPS with a certificate from its own CA."""

    name: str
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refuse: int | str | None = None
    unauthorized_once: bool = False
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self._server: BaseWSGIServer | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> LocalKubernetes:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._cert.configure_cert(context)
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, ssl_context=context, request_handler=_Quiet
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "not started"
        return f"https://127.0.0.1:{self._server.server_port}"

    @property
    def ca_data(self) -> str:
        """``certificateAuthority.data`` as DescribeCluster gives it: base64 of the PEM."""
        return base64.b64encode(self.ca.cert_pem.bytes()).decode()

    # --- fixtures ------------------------------------------------------------------------

    def add(self, kind: str, name: str, spec: dict[str, Any], **extra: Any) -> None:
        """An object of ``kind`` (a PATHS key) in namespace ``default``."""
        obj = {"metadata": {"name": name, "namespace": "default"}, "spec": spec, **extra}
        with self._lock:
            self.objects.setdefault(kind, []).append(obj)

    def count(self, kind: str) -> int:
        return sum(1 for seen in self.requests if seen.path == PATHS[kind])

    # --- the API -------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        problem = token_problem(request.headers.get("Authorization", ""), self.name)
        query = dict(request.args.items())
        with self._lock:
            self.requests.append(Seen(request.path, query, problem is None))
            once = self.unauthorized_once
            self.unauthorized_once = False
        if self.refuse == "timeout":
            time.sleep(TIMEOUT_SLEEP_SECONDS)
        if problem is not None or self.refuse == 401 or once:
            return _status(401, "Unauthorized", problem or "token refused")(environ, start_response)
        if self.refuse == 403:
            message = 'pods is forbidden: User "arn:aws:sts::123456789012:assumed-role/fn" ...'
            return _status(403, "Forbidden", message)(environ, start_response)
        kind = next((k for k, path in PATHS.items() if path == request.path), None)
        if kind is None or request.method != "GET":
            return _status(404, "NotFound", request.path)(environ, start_response)
        with self._lock:
            listed = list(self.objects.get(kind, []))
        limit = int(query.get("limit") or 0) or len(listed) or 1
        start = int(query.get("continue") or 0)
        page = listed[start : start + limit]
        following = start + limit if start + limit < len(listed) else None
        body = {
            "kind": f"{kind}List",
            "metadata": {"continue": str(following)} if following else {},
            "items": page,
        }
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)


def _status(code: int, reason: str, message: str) -> Response:
    body = {"kind": "Status", "status": "Failure", "reason": reason, "message": message}
    return Response(json.dumps(body), status=code, content_type="application/json")
