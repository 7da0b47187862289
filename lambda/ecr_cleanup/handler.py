"""Lambda entry point of the single shape: parse the event, run the cleanup once, log and
measure what it did. The organization shape's handlers are in ``ecr_cleanup.hub``."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecr_cleanup.clients import Clients, make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest
from ecr_cleanup.invocation import RunFailed, cleanup, failure_summary, log_run, logger, metrics
from ecr_cleanup.request import parse_request
from ecr_cleanup.sdk import check_sdk
from ecr_cleanup.settings import Settings
from ecr_cleanup.telemetry import record_metrics

__all__ = ["RunFailed", "container", "handler", "logger", "metrics"]


@cache
def container() -> tuple[Settings, Clients]:
    """Settings and clients, built once per container (an invalid setting is not cached)."""
    settings = Settings.from_env(os.environ)
    if settings.hub:
        raise ConfigError(
            "WORK_BUCKET: the organization shape's cleanup runs ecr_cleanup.hub.clean.handler"
        )
    clients = make_clients(settings.max_workers)
    # Before any call: a model without a member would drop it silently. The ECS and Lambda
    # models are checked where the in-use lookups create their clients, before their calls.
    check_sdk(clients)
    return settings, clients


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings, clients = container()
        request = parse_request(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})
        raise
    logger.info("run starting", extra={"dry_run": request.dry_run, "source": request.source})
    report = cleanup(settings, request, clients, context, account_id=_account(context))
    record_metrics(metrics, report)
    result = report.as_dict()
    log_run(report, result)
    if report.failed:
        raise RunFailed(failure_summary(report))
    return result


def _account(context: LambdaContext) -> str | None:
    """The function's own account, from its ARN: repository ARNs then cost no call."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None
