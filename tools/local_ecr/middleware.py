"""The WSGI layer in front of moto: records calls, injects faults, restores real semantics.

Every request reaches `FidelityMiddleware` first. ECR operations listed in
`ecr_api.HANDLERS` are answered from the double's image tables; every other request goes
to moto, with ECS and Lambda answers corrected where they lose image digests (`inuse`),
service revisions and task definition listings (`ecs_workloads`), or skip paging
(`listings`). Batch's in-use reads and App Runner are answered by `batch_apprunner`.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import (
    accounts,
    batch_apprunner,
    ecr_api,
    ecs_workloads,
    eks,
    inuse,
    lambda_account,
    listings,
    organizations,
)
from .errors import ApiError
from .faults import Fault, Faults
from .registry import LOCK, Registry
from .wire import Call, WireRequest, error_response, identify, json_response

INTERNAL_HEADER = "X-Local-Ecr-Internal"
"""Marks the double's own setup calls: neither recorded nor faulted."""
_INTERNAL_ENVIRON = "HTTP_X_LOCAL_ECR_INTERNAL"

Answer = tuple[str, list[tuple[str, str]], bytes]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The answers moto gets wrong for ECS and Lambda, corrected after moto has answered.
_REWRITTEN = {
    "lambda": inuse.LAMBDA_OPERATIONS | listings.LAMBDA_LISTS.keys(),
    "ecs": inuse.ECS_STARTS | listings.ECS_LISTS.keys() | ecs_workloads.AFTER,
}

# How each protocol names the two random service faults: (code, HTTP status).
_THROTTLE = {"rest-json": ("TooManyRequestsException", 429)}
_SERVER_ERROR = {"rest-json": ("ServiceException", 500)}


class CallLog:
    """Thread-safe record of every request that reached the endpoint, in arrival order."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


class FidelityMiddleware:
    """WSGI app wrapping moto's: the endpoint every client of the double talks to."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        account_id: str,
        faults: Callable[[], Faults],
        calls: CallLog,
        lambda_quota: Callable[[], int] = lambda: 1000,
    ) -> None:
        self._app = app
        self._account_id = account_id
        self._faults = faults
        self._calls = calls
        self._lambda_quota = lambda_quota

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        internal_mark = environ.pop(_INTERNAL_ENVIRON, None)
        internal = internal_mark is not None
        account = accounts.caller_account(environ, internal_mark, self._account_id)
        # moto serves the account named by this header, whatever the access key says.
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
        request = identify(environ, body, account)
        if not internal:
            self._calls.record(request.call)
        try:
            if not internal:
                self._inject_faults(request, environ)
            status, headers, payload = self._answer(request, environ, internal=internal)
        except ApiError as error:
            status, headers, payload = error_response(
                request.protocol, error.code, error.message, error.status
            )
        start_response(status, headers)
        return [payload]

    def _inject_faults(self, request: WireRequest, environ: dict[str, Any]) -> None:
        """Latency, then at most one random fault, for the services faults apply to."""
        faults = self._faults()
        if not faults.applies_to(request.call.service):
            return
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000)
        fault = faults.draw(request.call.operation, request.region, request.call.account)
        if fault is Fault.CONNECTION_RESET:
            _drop_connection(environ)
        if fault is Fault.SERVER_ERROR:
            code, status = _SERVER_ERROR.get(request.protocol, ("ServerException", 500))
            raise ApiError(code, "Injected server fault", status)
        if fault is Fault.THROTTLE:
            code, status = _THROTTLE.get(request.protocol, ("ThrottlingException", 400))
            raise ApiError(code, "Rate exceeded", status)

    def _answer(self, request: WireRequest, environ: dict[str, Any], *, internal: bool) -> Answer:
        service, operation, params = (
            request.call.service,
            request.call.operation,
            request.call.params,
        )
        account = request.call.account
        if service == "ecr":
            return self._ecr(request, environ)
        if service == "sts" and operation == "AssumeRole":
            accounts.check_assume_role(params)
        if service == "organizations" and operation in organizations.OPERATIONS:
            return json_response(organizations.answer(operation, params, account))
        if service == "eks" and operation in eks.OPERATIONS:
            return json_response(eks.answer(operation, params, account, request.region))
        if service == "lambda" and operation == lambda_account.OPERATION:
            quota = self._lambda_quota()
            return json_response(lambda_account.account_settings(account, request.region, quota))
        if service == "batch" and operation in batch_apprunner.BATCH_OPERATIONS:
            return json_response(batch_apprunner.batch(operation, params, account, request.region))
        if service == "apprunner" and operation in batch_apprunner.APP_RUNNER_OPERATIONS:
            answered = batch_apprunner.app_runner(operation, params, account, request.region)
            return json_response(answered)
        if service == "lambda":
            inuse.lambda_before(operation, params, account)
        if service == "ecs":
            listings.ecs_check(operation, params)
            ecs_workloads.check(operation, params)
            if operation in ecs_workloads.ANSWERED:
                answered = ecs_workloads.answer(operation, params, account, request.region)
                if not internal:
                    ecs_workloads.fail(operation, answered, self._faults().describe_failures)
                return json_response(answered)
        status, headers, body = self._moto(environ)
        if not status.startswith("2") or operation not in _REWRITTEN.get(service, ()):
            return status, headers, body
        payload = json.loads(body or b"{}")
        if service == "lambda":
            inuse.lambda_after(operation, payload, account, request.region)
            listings.lambda_page(operation, params, payload)
        else:
            inuse.ecs_after(operation, payload, account, request.region)
            ecs_workloads.after(operation, params, payload, account, request.region)
            if not internal:
                ecs_workloads.fail(operation, payload, self._faults().describe_failures)
            listings.ecs_page(operation, params, payload)
        body = json.dumps(payload).encode()
        return status, _with_length(headers, body), body

    def _ecr(self, request: WireRequest, environ: dict[str, Any]) -> Answer:
        operation, params = request.call.operation, request.call.params
        registry = Registry(request.call.account, request.region)
        with LOCK:
            ecr_api.check_registry(registry, params)
            if operation == "BatchDeleteImage":
                result = ecr_api.batch_delete_image(registry, params, self._faults().failure_codes)
            elif operation == "BatchGetImage":
                result = ecr_api.batch_get_image(registry, params, self._faults().archived_manifest)
            elif operation in ecr_api.HANDLERS:
                result = ecr_api.HANDLERS[operation](registry, params)
            else:
                if operation == "DeleteRepository":
                    ecr_api.delete_repository_allowed(registry, params)
                result = None
            if result is not None:
                self._after_listing(registry, operation, params, result)
        if result is None:
            return self._moto(environ)
        return json_response(result)

    def _after_listing(
        self, registry: Registry, operation: str, params: dict[str, Any], result: dict[str, Any]
    ) -> None:
        """Fault hook: someone else deletes or tags an image just after the caller saw it."""
        faults = self._faults()
        digests = ecr_api.listed_digests(operation, result)
        if not digests or not (faults.vanish_after_list or faults.tag_after_list):
            return
        table = registry.repository(str(params.get("repositoryName", "")))
        for digest in dict.fromkeys(digests):
            if digest in faults.vanish_after_list:
                faults.vanish_after_list.discard(digest)
                if digest in table.images:
                    table.remove(digest)
            tag = faults.tag_after_list.pop(digest, None)
            if tag is not None and digest in table.images:
                table.tag(digest, tag)

    def _moto(self, environ: dict[str, Any]) -> Answer:
        """Run moto's app and collect its whole answer."""
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: None

        result = self._app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], body


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back for moto to read again."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _with_length(headers: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return [*kept, ("Content-Length", str(len(body)))]


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection without an answer (werkzeug then writes nothing)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("local ECR double: injected connection reset")
