"""Run one Lambda handler as Lambda would, and say how it ended: in process or as a child.

`python -m tools.invoke_handler` reads `{"handler", "event", "timeout"}` on stdin and
prints `{"outcome", "rss_mib", "seconds"}` (`seconds`: the handler's own time) as its last
line: a fresh interpreter per invocation, like a new Lambda container, so its peak RSS is
that invocation's alone. Standard library only,
so the child imports nothing the handler does not.
"""

from __future__ import annotations

import importlib
import io
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def error_outcome(error: BaseException) -> dict[str, Any]:
    """Lambda's payload for an unhandled exception."""
    return {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}


def run_handler(handler: str, event: Any, context: Any) -> dict[str, Any]:
    """`{"result": ...}`, or Lambda's error payload when the handler raises."""
    module, _, attribute = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module), attribute)
        return {"result": function(event, context)}
    except Exception as error:  # noqa: BLE001 - every failure is the function's error
        return error_outcome(error)


class _Context:
    """What Powertools and the handlers read from Lambda's context object."""

    function_name = "local"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id = "local"

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    request = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()  # the handlers log to stdout; the answer is the last line
    started = time.perf_counter()
    try:
        outcome = run_handler(
            request["handler"], request["event"], _Context(float(request["timeout"]))
        )
    finally:
        sys.stdout = real_stdout
    seconds = time.perf_counter() - started
    answer = {"outcome": outcome, "rss_mib": peak_rss_mib(), "seconds": seconds}
    print(json.dumps(answer, default=str))


def peak_rss_mib() -> float:
    """This interpreter's own peak RSS: VmHWM, reset by exec (getrusage's ru_maxrss keeps the
    forking parent's peak across exec, so a child of a large process would report that)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


if __name__ == "__main__":
    main()
