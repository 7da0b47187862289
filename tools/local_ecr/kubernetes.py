"""A local Kubernetes API server double: the list endpoints an in-use lookup reads, over TLS.

Each `LocalKubernetes` is one cluster: a trustme CA signs its certificate for 127.0.0.1
(`ca_data` is what DescribeCluster gives), and it serves `/api/v1/pods` and the `apps/v1`,
`batch/v1` controller lists across all namespaces as the API server does:

- paging: `limit` (absent or 0: everything), an opaque `continue` token in
  `metadata.continue` (a malformed one is 400 BadRequest; `expire_continue_once` makes the
  next token-bearing request 410 Expired, as after an etcd compaction);
- authentication as EKS does it: the bearer token must be `k8s-aws-v1.` + base64url (no
  padding) of a presigned STS GetCallerIdentity URL on an STS host (regional, or the global
  one), with only the query parameters aws-iam-authenticator allows, signed over
  `host;x-k8s-aws-id`, dated within 15 minutes; its SigV4 signature is checked, with
  `x-k8s-aws-id` = this cluster's name, when the access key's secret is known (`secrets`);
  else 401;
- refusals: `refuse = 401 | 403 | 429 | 500 | "timeout"`, or `unauthorized_once` (one 401,
  as for an expired token); `latency_ms` before every answer.

It records every request (`requests`, `count`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

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
# The STS hosts aws-iam-authenticator accepts: regional, or the global one (us-east-1).
STS_HOST = re.compile(r"sts(\.(?P<region>[a-z]{2}(-[a-z]+)+-\d+))?\.amazonaws\.com(\.cn)?")
# aws-iam-authenticator refuses any other query parameter of the presigned URL.
ALLOWED_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
TOKEN_LIFETIME = timedelta(minutes=15)
TIMEOUT_SLEEP_SECONDS = 25.0  # longer than the function's read timeout
DEFAULT_SECRETS = {"testing": "testing", "benchmark": "benchmark"}  # the doubles' fake keys


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    token_ok: bool
    problem: str | None = None
    sts_host: str | None = None  # the host the token was presigned for


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log."""


def token_problem(
    header: str,
    cluster: str,
    secrets: dict[str, str] | None = None,
    now: datetime | None = None,
) -> str | None:
    """Why ``header`` is not an EKS bearer token for ``cluster`` (None when it is)."""
    if not header.startswith("Bearer k8s-aws-v1."):
        return "not a k8s-aws-v1 bearer token"
    encoded = header.removeprefix("Bearer k8s-aws-v1.")
    if "=" in encoded or "+" in encoded or "/" in encoded:
        return "not base64url without padding"
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "not base64url"
    parts = urlsplit(url)
    host = STS_HOST.fullmatch(parts.hostname or "")
    if parts.scheme != "https" or host is None or parts.port is not None:
        return f"not presigned on an STS host: {parts.hostname}"
    if parts.path != "/":
        return f"not the STS root path: {parts.path}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs) or {k.lower() for k in query} - ALLOWED_PARAMETERS:
        return "a query parameter that is repeated or not allowed"
    if query.get("Action") != "GetCallerIdentity":
        return "not GetCallerIdentity"
    signed = query.get("X-Amz-SignedHeaders", "").split(";")
    if "x-k8s-aws-id" not in signed or "host" not in signed:
        return "x-k8s-aws-id is not signed"
    if not query.get("X-Amz-Signature") or not cluster:
        return "unsigned"
    try:
        dated = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query.get("X-Amz-Expires", ""))
    except ValueError:
        return "no X-Amz-Date or X-Amz-Expires"
    moment = now or datetime.now(UTC)
    if expires > TOKEN_LIFETIME.total_seconds() or not (
        dated - timedelta(minutes=5) <= moment <= dated + TOKEN_LIFETIME
    ):
        return "expired (15 minute expiration)"
    credential = query.get("X-Amz-Credential", "").split("/")
    region = host["region"] or "us-east-1"
    if len(credential) != 5 or credential[2] != region or credential[3] != "sts":
        return "a credential scope that is not this STS host's"
    secret = (secrets or {}).get(credential[0])
    if secret is not None and not _signature_matches(parts.hostname or "", query, cluster, secret):
        return "the signature does not match (another cluster's token, or other credentials)"
    return None


def _presigned_host(header: str) -> str | None:
    encoded = header.removeprefix("Bearer k8s-aws-v1.")
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return urlsplit(url).hostname


def _signature_matches(host: str, query: dict[str, str], cluster: str, secret: str) -> bool:
    """SigV4 over the presigned GET, as STS checks it with the header EKS adds."""
    values = {"host": host, "x-k8s-aws-id": cluster}
    signed = query["X-Amz-SignedHeaders"].split(";")
    if set(signed) - values.keys():
        return False
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(query.items())
        if k != "X-Amz-Signature"
    )
    headers = "".join(f"{name}:{values[name]}\n" for name in signed)
    canonical = "\n".join(
        ["GET", "/", canonical_query, headers, ";".join(signed), hashlib.sha256(b"").hexdigest()]
    )
    _, date, region, service, terminal = query["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminal}"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, query["X-Amz-Signature"])


@dataclass
class LocalKubernetes:
    """One cluster's API server on 127.0.0.1, HTTPS with a certificate from its own CA."""

    name: str
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refuse: int | str | None = None
    unauthorized_once: bool = False
    expire_continue_once: bool = False
    latency_ms: float = 0.0
    secrets: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SECRETS))
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ca = trustme.CA(key_type=trustme.KeyType.ECDSA)  # fast to make, as EKS may
        self._cert = self.ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.ECDSA)
        self._server: BaseWSGIServer | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> LocalKubernetes:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._cert.configure_cert(context)
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, ssl_context=context, request_handler=_Quiet
        )
        server = self._server
        threading.Thread(target=lambda: server.serve_forever(0.02), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalKubernetes:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "not started"
        return f"https://127.0.0.1:{self._server.server_port}"

    @property
    def ca_data(self) -> str:
        """``certificateAuthority.data`` as DescribeCluster gives it: base64 of the PEM."""
        return base64.b64encode(self.ca.cert_pem.bytes()).decode()

    # --- fixtures ------------------------------------------------------------------------

    def add(
        self, kind: str, name: str, spec: dict[str, Any], namespace: str = "default", **extra: Any
    ) -> None:
        """An object of ``kind`` (a PATHS key); ``extra`` holds e.g. a pod's ``status``."""
        obj = {"metadata": {"name": name, "namespace": namespace}, "spec": spec, **extra}
        with self._lock:
            self.objects.setdefault(kind, []).append(obj)

    def count(self, kind: str) -> int:
        return sum(1 for seen in self.requests if seen.path == PATHS[kind])

    # --- the API -------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        problem = token_problem(header, self.name, self.secrets)
        query = dict(request.args.items())
        seen = Seen(request.path, query, problem is None, problem, _presigned_host(header))
        with self._lock:
            self.requests.append(seen)
            once = self.unauthorized_once
            self.unauthorized_once = False
            expire = self.expire_continue_once and "continue" in query
            if expire:
                self.expire_continue_once = False
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.refuse == "timeout":
            time.sleep(TIMEOUT_SLEEP_SECONDS)
        if problem is not None or self.refuse == 401 or once:
            return _status(401, "Unauthorized", "Unauthorized")
        if self.refuse == 403:
            resource = request.path.rsplit("/", 1)[-1]
            message = (
                f'{resource} is forbidden: User "arn:aws:sts::123456789012:assumed-role/fn/fn" '
                f'cannot list resource "{resource}" at the cluster scope'
            )
            return _status(403, "Forbidden", message)
        if self.refuse in (429, 500):
            reason = "TooManyRequests" if self.refuse == 429 else "InternalError"
            return _status(int(self.refuse), reason, "please try again later")
        kind = next((k for k, path in PATHS.items() if path == request.path), None)
        if kind is None or request.method != "GET":
            return _status(404, "NotFound", "the server could not find the requested resource")
        if expire:
            return _status(
                410,
                "Expired",
                "The provided continue parameter is too old to display a "
                "consistent list result. You can start a new list without the continue parameter.",
            )
        try:
            limit = int(query.get("limit") or 0)
            start = _decode(query["continue"], request.path) if "continue" in query else 0
        except ValueError:
            return _status(400, "BadRequest", "continue key is not valid")
        if limit < 0:
            return _status(400, "BadRequest", "limit must be a non-negative integer")
        with self._lock:
            listed = list(self.objects.get(kind, []))
        end = start + limit if limit else len(listed)
        following = _encode(end, request.path) if end < len(listed) else None
        body = {
            "kind": f"{kind}List",
            "apiVersion": "v1" if kind == "Pod" else request.path.split("/")[2] + "/v1",
            "metadata": {"resourceVersion": "1", **({"continue": following} if following else {})},
            "items": listed[start:end],
        }
        return Response(json.dumps(body), content_type="application/json")


def _encode(position: int, path: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": 1, "start": position, "path": path})
    return base64.b64encode(raw.encode()).decode()


def _decode(token: str, path: str) -> int:
    try:
        data = json.loads(base64.b64decode(token, validate=True))
        position = int(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValueError(token) from None
    if data.get("path") != path or position < 0:
        raise ValueError(token)
    return position


def _status(code: int, reason: str, message: str) -> Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return Response(json.dumps(body), status=code, content_type="application/json")
