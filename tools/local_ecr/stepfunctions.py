"""The hub's state machine run by moto's Step Functions interpreter, its Lambdas in process.

moto (5.2.5) executes a state machine when its config says so, and calls Lambda tasks
through its own Lambda API, whose `LambdaBackend.invoke` would start a docker container.
`LambdaHook` replaces that one method so each task runs the project's handler,
named by the function's `Handler` and with the function's environment, in this process or
in a fresh interpreter per invocation (then its peak RSS is its own, as in Lambda).

`deploy_hub` creates, in the double's (hub) account, what the synthesized template declares
for a run: the buckets, the functions (handler, environment, timeout) and the state
machine, with the template's Ref / Fn::GetAtt / Fn::Join resolved to the local names.
"""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaBackend
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
    StateTaskLambda,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from tools.invoke_handler import error_outcome, run_handler

from .double import LocalEcr

ROOT = Path(__file__).resolve().parents[2]
HOOKED = (LambdaBackend, "invoke")
"""The moto method the hook replaces (moto 5.2.5 dispatches every Lambda Invoke there)."""
ERROR_NAMES = (StateTaskLambda, "_from_error")
"""Also replaced while the hook is installed: for a task whose Resource is the function's ARN,
moto 5.2.5 names every Lambda API error `Exception`, where Step Functions names it
`Lambda.<code>` (`Lambda.TooManyRequestsException`, ...), as for `arn:aws:states:::lambda:invoke`
tasks; a Retry on those names would never match in moto without this."""


# --- moto's configuration ----------------------------------------------------------------


def configure_moto(endpoint_url: str, *, execute: bool) -> None:
    """Turn Step Functions execution (and docker-less Lambda) on or back off, server-wide.

    moto's interpreter calls Lambda and S3 at `localhost:$MOTO_PORT`, so that is pointed at
    the double too.
    """
    settings = {
        "stepfunctions": {"execute_state_machine": execute},
        # Lambda stays in its one (docker) backend, whose invoke the hook replaces: with
        # `use_docker: false` moto serves some calls (GetFunction) from a second backend
        # that lacks the functions created before, so workloads' Lambda versions vanish.
        "lambda": {"use_docker": True},
    }
    request = urllib.request.Request(  # noqa: S310 - the local double's http:// endpoint
        f"{endpoint_url}/moto-api/config",
        data=json.dumps(settings).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
    if execute:
        os.environ["MOTO_PORT"] = endpoint_url.rsplit(":", 1)[1]
    else:
        os.environ.pop("MOTO_PORT", None)


# --- the hook ------------------------------------------------------------------------------


@dataclass
class Invocation:
    """One hooked invocation: which handler, how it ended, its own peak RSS when measured."""

    handler: str
    event: Any
    error: str | None
    seconds: float
    rss_mib: float | None = None


class Throttled(JsonRESTError):
    """Lambda's answer to an Invoke beyond the available concurrency (HTTP 429), which Step
    Functions reports as `Lambda.TooManyRequestsException`."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


@dataclass
class LambdaHook:
    """Runs the project's handlers for moto's Lambda Invoke; counts what happened.

    `subprocess=True` runs each invocation in a fresh interpreter (cold, like a new Lambda
    container, and its peak RSS measured alone); otherwise handlers run on moto's thread in
    this process, whose environment must already hold the function's (`apply_environment`).
    `throttle[handler] = n` refuses that handler's next n invocations as Lambda does when no
    concurrency is left (`Throttled`), before running anything; `throttled` lists them.
    """

    subprocess: bool = False
    throttle: Counter[str] = field(default_factory=Counter)
    throttled: list[str] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def installed(self) -> Iterator[LambdaHook]:
        cls, name = HOOKED
        original = getattr(cls, name)
        hook = self

        def invoke(  # noqa: PLR0917 - moto's signature
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            function = backend.get_function(function_name, qualifier)
            hook.refuse_if_throttled(str(function.handler))
            return hook.invoke(function, body, response_headers)

        state_cls, state_name = ERROR_NAMES
        original_from_error = getattr(state_cls, state_name)

        def from_error(state: Any, env: Any, ex: Exception) -> Any:
            if not isinstance(ex, ClientError):
                return original_from_error(state, env, ex)
            error = f"Lambda.{ex.response['Error']['Code']}"
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.LambdaFunctionFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # total=True in moto
                    lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                        error=error, cause=str(ex.response["Error"].get("Message", ""))
                    )
                ),
            )

        setattr(cls, name, invoke)
        setattr(state_cls, state_name, from_error)
        try:
            yield self
        finally:
            setattr(cls, name, original)
            setattr(state_cls, state_name, original_from_error)

    def refuse_if_throttled(self, handler: str) -> None:
        with self._lock:
            if self.throttle[handler] <= 0:
                return
            self.throttle[handler] -= 1
            self.throttled.append(handler)
        raise Throttled

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(invocation.handler for invocation in self.invocations)

    def invoke(self, function: Any, body: Any, response_headers: dict[str, str]) -> bytes:
        """Run the handler; an exception becomes Lambda's Unhandled function error."""
        event = json.loads(body or b"{}")
        handler = str(function.handler)
        environment = dict(function.environment_vars or {})
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        started = time.perf_counter()
        rss: float | None = None
        try:
            if self.subprocess:
                outcome, rss = _in_subprocess(handler, event, environment, function.timeout)
            else:
                outcome = _in_process(handler, event, environment, function)
        finally:
            with self._lock:
                self.active -= 1
        error = outcome.get("errorType")
        with self._lock:
            self.invocations.append(
                Invocation(handler, event, error, time.perf_counter() - started, rss)
            )
        if error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(outcome).encode()
        return json.dumps(outcome["result"]).encode()


def _context(function: Any) -> Any:
    """What Powertools and the handlers read from Lambda's context object."""
    deadline = time.monotonic() + float(function.timeout)

    class Context:
        function_name = str(function.function_name)
        memory_limit_in_mb = int(function.memory_size)
        invoked_function_arn = str(function.function_arn)
        aws_request_id = f"local-{time.monotonic_ns()}"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

    return Context()


def _in_process(
    handler: str, event: Any, environment: Mapping[str, str], function: Any
) -> dict[str, Any]:
    differing = sorted(k for k, v in environment.items() if os.environ.get(k) != v)
    if differing:  # one process, one environment: refuse rather than run with the wrong one
        return error_outcome(
            RuntimeError(f"{handler}: process environment differs in {', '.join(differing)}")
        )
    return run_handler(handler, event, _context(function))


def _in_subprocess(
    handler: str, event: Any, environment: Mapping[str, str], timeout: float
) -> tuple[dict[str, Any], float | None]:
    env = {
        **os.environ,
        **environment,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "lambda"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    request = json.dumps({"handler": handler, "event": event, "timeout": timeout})
    finished = subprocess.run(
        [sys.executable, "-m", "tools.invoke_handler"],
        input=request.encode(),
        env=env,
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    try:
        answer = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = finished.stderr.decode()[-2000:]
        return error_outcome(RuntimeError(f"{handler} crashed: {tail}")), None
    return answer["outcome"], answer["rss_mib"]


# --- the template, deployed to moto ---------------------------------------------------------


@dataclass(frozen=True)
class Hub:
    """What `deploy_hub` created, by the template's logical ids."""

    state_machine_arn: str
    functions: dict[str, str]  # logical id -> function name
    buckets: dict[str, str]  # logical id -> bucket name
    environment: dict[str, str]  # the functions' environment, resolved (they agree)


def resolve(value: Any, names: Mapping[str, str], attributes: Mapping[tuple[str, str], str]) -> Any:
    """Resolve Ref, Fn::GetAtt and Fn::Join; anything else unresolved is an error."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            return attributes[(logical, attribute)]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve(part, names, attributes)) for part in parts)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise ValueError(f"cannot resolve {value} locally")
        return {key: resolve(item, names, attributes) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, names, attributes) for item in value]
    return value


def adapt_for_moto(definition: dict[str, Any]) -> dict[str, Any]:
    """The only change made to the synthesized definition: what moto 5.2.5 cannot parse.

    moto rejects an integer `ToleratedFailurePercentage` (it parses a float); the value is
    kept, as a float. moto ignores failure thresholds anyway; the definition's own values
    are checked with aws_cdk.assertions.Template. Anything else moto lacks (ItemBatcher,
    EXPRESS children) is refused here rather than silently dropped.
    """
    adapted = copy.deepcopy(definition)

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if state.get("Type") != "Map":
                continue
            if isinstance(state.get("ToleratedFailurePercentage"), int):
                state["ToleratedFailurePercentage"] = float(state["ToleratedFailurePercentage"])
            if "ItemBatcher" in state:
                raise ValueError("moto 5.2.5 has no ItemBatcher: this definition cannot run")
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            if processor.get("ProcessorConfig", {}).get("ExecutionType") == "EXPRESS":
                raise ValueError("moto 5.2.5 runs no EXPRESS children")
            walk(processor.get("States", {}))

    walk(adapted["States"])
    return adapted


def deploy_hub(hub: LocalEcr, template: Mapping[str, Any]) -> Hub:
    """Create the template's buckets, functions and state machine in the hub account."""
    resources: dict[str, Any] = template["Resources"]
    account, region = hub.account_id, hub.region
    names: dict[str, str] = {
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "EcrUntaggedCleanup",
    }
    attributes: dict[tuple[str, str], str] = {}
    iam = hub._internal_client("iam")
    role = iam.create_role(RoleName="local-hub", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for logical, resource_ in resources.items():
        names.setdefault(logical, f"local-{logical}")  # a physical name, as Ref gives
        if resource_["Type"] == "AWS::IAM::Role":
            attributes[(logical, "Arn")] = role
            names[logical] = "local-hub"
    buckets: dict[str, str] = {}
    s3 = hub._internal_client("s3")
    for logical, resource_ in resources.items():
        if resource_["Type"] == "AWS::S3::Bucket":
            name = f"local-{logical.lower()}"[:63]
            s3.create_bucket(Bucket=name)
            names[logical] = buckets[logical] = name
            attributes[(logical, "Arn")] = f"arn:aws:s3:::{name}"
    functions = {
        logical: resource_
        for logical, resource_ in resources.items()
        if resource_["Type"] == "AWS::Lambda::Function"
    }
    for logical in functions:
        name = logical[:64]
        names[logical] = name
        attributes[(logical, "Arn")] = f"arn:aws:lambda:{region}:{account}:function:{name}"
    lam = hub._internal_client("lambda")
    environment: dict[str, str] = {}
    created: dict[str, str] = {}
    for logical, resource_ in functions.items():
        properties = resource_["Properties"]
        variables = resolve(
            properties.get("Environment", {}).get("Variables", {}), names, attributes
        )
        for key, value in variables.items():
            if environment.setdefault(key, str(value)) != str(value):
                raise ValueError(f"the functions disagree on {key}: one process cannot host them")
        lam.create_function(
            FunctionName=names[logical],
            Runtime="python3.12",  # moto checks nothing of the code; the handler runs here
            Role=role,
            Handler=properties["Handler"],
            Code={"ZipFile": _empty_zip()},
            Timeout=int(properties.get("Timeout", 3)),
            MemorySize=int(properties.get("MemorySize", 128)),
            Environment={"Variables": {k: str(v) for k, v in variables.items()}},
        )
        created[logical] = names[logical]
    machines = [
        (logical, resource_)
        for logical, resource_ in resources.items()
        if resource_["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise ValueError(f"expected one state machine in the template, found {len(machines)}")
    ((machine_logical, machine),) = machines
    properties = machine["Properties"]
    raw = properties.get("DefinitionString") or json.dumps(properties["Definition"])
    definition = json.loads(resolve(raw, names, attributes))
    sfn = hub._internal_client("stepfunctions")
    # The template's own name when it sets one (the hub's functions know their state machine
    # by it), else the logical id.
    machine_name = resolve(properties.get("StateMachineName", machine_logical[:80]), names, {})
    arn = sfn.create_state_machine(
        name=str(machine_name),
        definition=json.dumps(adapt_for_moto(definition)),
        roleArn=role,
        type=properties.get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    return Hub(str(arn), created, buckets, environment)


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "")
    return buffer.getvalue()


def apply_environment(environment: Mapping[str, str], endpoint: Mapping[str, str]) -> None:
    """This process's environment for in-process handlers: the functions', then the double's."""
    os.environ.update(environment)
    os.environ.update(endpoint)


def run_execution(
    sfn: Any, state_machine_arn: str, payload: Any, *, name: str, timeout_s: float = 120
) -> dict[str, Any]:
    """Start an execution and poll until it ends (moto runs it on a background thread)."""
    execution = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
    )["executionArn"]
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {name} still RUNNING after {timeout_s:g} s")
        time.sleep(0.1)
