"""Reading AWS requests off the wire and writing AWS-shaped answers.

Every request is named as botocore names it (service signing name + operation), whatever
the protocol: JSON (`X-Amz-Target`), query (`Action=`) or REST (method + path, matched
against the botocore service model). That is what call recording and faults key on.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
_TARGET_PREFIXES = {
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "AmazonEC2ContainerServiceV20141113": "ecs",
}
"""JSON services known by their `X-Amz-Target` alone, even if a request is unsigned."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request that reached the endpoint: `Call("ecr", "ListImages", {...})`."""

    service: str
    operation: str
    params: dict[str, Any]
    account: str = field(default="", compare=False)
    """The account moto served (the caller's, or an assumed role's)."""
    region: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A request as identified: what was called, in which region, over which protocol."""

    call: Call
    region: str
    protocol: str


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    required_query: tuple[str, ...]
    operation: Any
    required_headers: tuple[str, ...] = ()
    """WSGI names of the headers the operation requires: S3's PutObject and CopyObject
    share one method and path, and only CopyObject's `x-amz-copy-source` tells them apart."""


def identify(environ: dict[str, Any], body: bytes, account: str = "") -> WireRequest:
    """Name the service, operation and parameters of a raw WSGI request."""
    service, region = _credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
    where = {"account": account, "region": region}
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = _TARGET_PREFIXES.get(prefix, service)
        return WireRequest(Call(service, operation, _json(body), **where), region, "json")
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        operation = form.pop("Action", "Unknown")
        form.pop("Version", None)
        return WireRequest(Call(service, operation, dict(form), **where), region, "query")
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    for route in _rest_routes(service):
        match = route.pattern.fullmatch(path)
        if route.method != method or match is None:
            continue
        if any(key not in query for key in route.required_query):
            continue
        if any(header not in environ for header in route.required_headers):
            continue
        params = _rest_params(route, match, query, body)
        call = Call(service, route.operation.name, params, **where)
        return WireRequest(call, region, "rest-json")
    return WireRequest(Call(service, f"{method} {path}", query, **where), region, "unknown")


def json_response(payload: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """A 200 answer of a JSON 1.1 service (ECR, ECS)."""
    body = json.dumps(payload).encode()
    return "200 OK", _headers(JSON_CONTENT_TYPE, body), body


def error_response(
    protocol: str, code: str, message: str, status: int
) -> tuple[str, list[tuple[str, str]], bytes]:
    """An error botocore parses into `ClientError` with `Error.Code == code`."""
    if protocol == "rest-json":
        payload = {"Type": "User" if status < 500 else "Service", "message": message}
        body = json.dumps(payload).encode()
        headers = [*_headers("application/json", body), ("x-amzn-ErrorType", code)]
    elif protocol == "query":  # STS, IAM, ...: the XML ErrorResponse
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        headers = _headers("text/xml", body)
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = _headers(JSON_CONTENT_TYPE, body)
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def _headers(content_type: str, body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]


def _credential_scope(authorization: str) -> tuple[str, str]:
    """`Credential=AKID/20250101/us-east-1/ecr/aws4_request` → ("ecr", "us-east-1")."""
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", authorization)
    if match is None:
        return "unknown", "us-east-1"
    return match.group(2), match.group(1)


def _json(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


@cache
def _rest_routes(service: str) -> tuple[Route, ...]:
    """The REST operations of a service, most specific path first."""
    session = botocore.session.get_session()
    if service not in session.get_available_services():
        return ()
    model = session.get_service_model(service)
    if not model.protocol.startswith("rest"):
        return ()
    routes: list[tuple[int, Route]] = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        path, _, query = operation.http["requestUri"].partition("?")
        labels: list[str] = []
        regex = ""
        literal = 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                label = part[1:-1]
                greedy = label.endswith("+")
                labels.append(label.rstrip("+"))
                regex += "(.+)" if greedy else "([^/]+)"
            else:
                regex += re.escape(part)
                literal += len(part)
        required = tuple(item.split("=")[0] for item in query.split("&") if item)
        headers = _required_headers(operation)
        route = Route(
            operation.http["method"], re.compile(regex), tuple(labels), required, operation, headers
        )
        routes.append((literal + 10 * (len(required) + len(headers)), route))
    routes.sort(key=lambda item: -item[0])
    return tuple(route for _, route in routes)


def _required_headers(operation: Any) -> tuple[str, ...]:
    """The WSGI environ keys (`HTTP_X_AMZ_COPY_SOURCE`) of the operation's required headers."""
    shape = operation.input_shape
    if shape is None:
        return ()
    return tuple(
        "HTTP_" + member.serialization.get("name", name).upper().replace("-", "_")
        for name, member in shape.members.items()
        if name in shape.required_members and member.serialization.get("location") == "header"
    )


def _rest_params(
    route: Route, match: re.Match[str], query: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Path labels and query keys under their member names, plus the JSON body."""
    by_location: dict[tuple[str, str], str] = {}
    input_shape = route.operation.input_shape
    if input_shape is not None:
        for member, shape in input_shape.members.items():
            location = shape.serialization.get("location")
            if location:
                by_location[(location, shape.serialization.get("name", member))] = member
    params: dict[str, Any] = _json(body)
    for label, value in zip(route.labels, match.groups(), strict=True):
        params[by_location.get(("uri", label), label)] = value
    for key, value in query.items():
        params[by_location.get(("querystring", key), key)] = value
    return params
