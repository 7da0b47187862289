"""The dashboard and the saved Logs Insights queries the stack ships."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Template

from ecr_cleanup.telemetry import KEPT_METRICS as FUNCTION_KEPT_METRICS
from infra.dashboard import DEFAULT_DAYS, KEPT_METRICS, QUERIES
from tests.infra.cdk_helpers import one, render


def dashboard_body(template: Template) -> dict[str, Any]:
    body = render(one(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    assert isinstance(body, str)
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    (found,) = [w for w in body["widgets"] if w["properties"].get("title") == title]
    return found["properties"]


def metric_names(properties: dict[str, Any]) -> list[str]:
    """The metric names a graph plots (a metric row is [namespace, name, dims..., {opts}])."""
    return [
        row[1]
        for row in properties.get("metrics", [])
        if len(row) > 1 and isinstance(row[1], str) and row[0] != "..."
    ]


def test_dashboard_is_named_after_the_stack_and_shows_thirty_days(template: Template) -> None:
    dashboard = one(template, "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == "EcrUntaggedCleanup"
    assert dashboard_body(template)["start"] == f"-P{DEFAULT_DAYS}D"


def test_kept_reasons_on_the_dashboard_are_the_functions(template: Template) -> None:
    assert list(KEPT_METRICS) == list(FUNCTION_KEPT_METRICS.values())
    kept = widget(dashboard_body(template), "Kept images by reason")
    assert kept["stacked"] is True
    assert metric_names(kept) == list(KEPT_METRICS)


def test_every_widget_plots_the_functions_metrics(template: Template) -> None:
    body = dashboard_body(template)
    assert metric_names(widget(body, "Images deleted and would-delete per night")) == [
        "ImagesDeleted",
        "ImagesWouldDelete",
    ]
    assert metric_names(widget(body, "Deletions failed and repositories failed")) == [
        "DeletionsFailed",
        "RepositoriesFailed",
    ]
    assert metric_names(widget(body, "Runs incomplete (time budget spent)")) == ["RunsIncomplete"]
    for properties in (w["properties"] for w in body["widgets"]):
        for row in properties.get("metrics", []):
            if row[0] == "EcrUntaggedCleanup":
                assert row[2:4] == ["service", "ecr-untagged-cleanup"], row
                assert row[-1].get("stat") == "Sum" and row[-1].get("period") == 86400


def test_bytes_reclaimed_nightly_and_cumulative(template: Template) -> None:
    graph = widget(dashboard_body(template), "Bytes reclaimed: nightly and cumulative")
    rows = graph["metrics"]
    expressions = [row[0]["expression"] for row in rows if isinstance(row[0], dict)]
    assert expressions == ["RUNNING_SUM(nightly)"]
    assert any(row[:2] == ["EcrUntaggedCleanup", "BytesReclaimed"] for row in rows)


def test_duration_against_timeout_with_errors_and_throttles(template: Template) -> None:
    graph = widget(dashboard_body(template), "Duration against the timeout, errors and throttles")
    names = metric_names(graph)
    assert names == ["Duration", "Errors", "Throttles"]
    (timeout,) = graph["annotations"]["horizontal"]
    assert (timeout["value"], timeout["label"]) == (900_000, "timeout")


def test_alarm_status_widget_lists_every_alarm(template: Template) -> None:
    (status,) = [w for w in dashboard_body(template)["widgets"] if w["type"] == "alarm"]
    shown = status["properties"]["alarms"]
    assert len(shown) == len(template.find_resources("AWS::CloudWatch::Alarm")) == 4


def test_saved_queries_read_the_functions_log_group(template: Template) -> None:
    log_group = next(iter(template.find_resources("AWS::Logs::LogGroup")))
    queries = template.find_resources("AWS::Logs::QueryDefinition")
    assert len(queries) == len(QUERIES) == 4
    by_name = {q["Properties"]["Name"]: q["Properties"] for q in queries.values()}
    assert set(by_name) == {f"EcrUntaggedCleanup/{name}" for name in QUERIES}
    for name, (_, query) in QUERIES.items():
        properties = by_name[f"EcrUntaggedCleanup/{name}"]
        assert properties["LogGroupNames"] == [{"Ref": log_group}]
        assert properties["QueryString"] == query


def test_queries_filter_on_messages_the_function_logs() -> None:
    """Each query's message filter is a message the function's code really logs."""
    sources = "".join(
        path.read_text() for path in __import__("pathlib").Path("lambda/ecr_cleanup").glob("*.py")
    )
    for _, query in QUERIES.values():
        (message,) = re.findall(r'message = "([^"]+)"', query)
        assert f'"{message}"' in sources, message
