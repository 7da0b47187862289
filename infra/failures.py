"""The failures queue: where whatever could not be delivered ends, in both shapes."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checks import acknowledge_nag, skip_checkov


def failures_queue(scope: Construct) -> sqs.Queue:
    """The dead-letter queue both shapes share (construct id `Failures`)."""
    # Whatever could not be delivered ends here: a failed or expired asynchronous run, a
    # scheduled event EventBridge could not hand to Lambda, an undeliverable alarm e-mail.
    queue = sqs.Queue(
        scope,
        "Failures",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge_nag(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter target (Lambda on-failure destination, "
        "EventBridge target DLQ, SNS subscription redrive); an alarm watches its depth.",
    )
    skip_checkov(
        queue,
        {
            "CKV_AWS_27": "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which "
            "this check does not recognise; a KMS key would also need key grants for "
            "EventBridge and SNS to deliver dead letters.",
        },
    )
    acknowledge_nag(
        queue,
        "Serverless-SQSRedrivePolicy",
        "This queue is the end of the line for failed deliveries; nothing consumes it, so "
        "no message can fail here and need redriving further.",
    )
    return queue


def schedule_rule(
    scope: Construct,
    schedule: str,
    *,
    description: str,
    target: Callable[..., events.IRuleTarget],
    failures: sqs.IQueue,
) -> events.Rule:
    """The schedule both shapes share (construct id `Schedule`): ``target(**options)`` is
    started once per ``schedule``, with no retry (the next scheduled run is the retry) and
    what EventBridge cannot deliver within an hour sent to ``failures``."""
    rule = events.Rule(
        scope,
        "Schedule",
        description=description,
        schedule=events.Schedule.expression(schedule),
    )
    rule.add_target(
        target(retry_attempts=0, max_event_age=Duration.hours(1), dead_letter_queue=failures)
    )
    return rule
