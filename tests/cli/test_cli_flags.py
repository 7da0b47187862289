"""Flags mirror the function's settings, are refused as the function refuses them, exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
import typer
from typer.testing import CliRunner

from ecr_cleanup.errors import ConfigError
from ecr_cleanup.registry import Failure
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.settings import HUB_VARIABLES, Settings
from tools import cli


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Replace the run (and the local registry) by a recorder of the settings it got."""
    runs: list[Settings] = []

    @contextmanager
    def no_registry(settings: Settings, *, announce: bool) -> Iterator[tuple[Any, Any, Any]]:
        yield None, None, []

    def record(settings: Settings, clients: Any, **_: Any) -> RunReport:
        runs.append(settings)
        return RunReport(dry_run=settings.dry_run)

    monkeypatch.setattr(cli, "local_registry", no_registry)
    monkeypatch.setattr(cli, "execute", record)
    return runs


def test_every_setting_of_the_function_has_a_flag() -> None:
    aliases = {field.encode_name for field in msgspec.structs.fields(Settings)} - HUB_VARIABLES
    assert set(cli.FLAGS) == aliases
    options = {opt for param in typer.main.get_command(cli.app).params for opt in param.opts}
    assert set(cli.FLAGS.values()) <= options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {}),
        (["--repositories", "api,web"], {"repositories": ("api", "web")}),
        (
            ["--repositories", "api", "--repositories", "team-*"],
            {"repositories": ("api", "team-*")},
        ),
        (["--exclude", "web,batch"], {"exclude_repositories": ("web", "batch")}),
        (["--no-dry-run"], {"dry_run": False}),
        (["--min-age-hours", "1.5"], {"min_age_hours": 1.5}),
        (["--keep-pulled-within-days", "0"], {"keep_pulled_within_days": 0}),
        (["--no-protect-in-use"], {"protect_in_use": False}),
        (["--image-status", "ANY"], {"image_status": "ANY"}),
        (["--registry-id", "210987654321"], {"registry_id": "210987654321"}),
        (["--max-workers", "16"], {"max_workers": 16}),
    ],
)
def test_flags_set_the_settings(
    runner: CliRunner, captured: list[Settings], args: list[str], expected: dict[str, Any]
) -> None:
    result = runner.invoke(cli.app, ["--local", *args])

    assert result.exit_code == cli.EXIT_OK, result.output
    defaults = msgspec.structs.asdict(Settings.from_env({"REPOSITORIES": "*"}))
    assert msgspec.structs.asdict(captured[0]) == {**defaults, **expected}


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--min-age-hours", "-1"),
        ("--min-age-hours", "soon"),
        ("--min-age-hours", "inf"),
        ("--keep-pulled-within-days", "1.5"),
        ("--max-workers", "0"),
        ("--max-workers", "17"),
        ("--image-status", "active"),
        ("--registry-id", "12345"),
        ("--repositories", "../etc"),
        ("--repositories", ""),
        ("--exclude", "App*"),
    ],
)
def test_a_value_the_function_refuses_is_refused_naming_the_flag(
    runner: CliRunner, captured: list[Settings], flag: str, value: str
) -> None:
    variable = next(name for name, option in cli.FLAGS.items() if option == flag)
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"REPOSITORIES": "*", variable: value})

    result = runner.invoke(cli.app, ["--local", flag, value])

    assert result.exit_code == cli.EXIT_INVALID
    assert f"'{flag}'" in result.stderr
    assert captured == []


def test_every_invalid_flag_is_named_at_once(runner: CliRunner, captured: list[Settings]) -> None:
    result = runner.invoke(cli.app, ["--local", "--max-workers", "99", "--image-status", "all"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--max-workers'" in result.stderr
    assert "'--image-status'" in result.stderr


def test_real_aws_needs_the_repositories_named(runner: CliRunner, captured: list[Settings]) -> None:
    result = runner.invoke(cli.app, [])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--repositories'" in result.stderr


def test_time_budget_must_be_positive(runner: CliRunner, captured: list[Settings]) -> None:
    result = runner.invoke(cli.app, ["--local", "--time-budget-seconds", "0"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "--time-budget-seconds" in result.stderr


def test_profile_and_region_are_refused_with_local(
    runner: CliRunner, captured: list[Settings]
) -> None:
    result = runner.invoke(cli.app, ["--local", "--profile", "prod"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--profile'" in result.stderr


def test_demo_refuses_options_of_a_run(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["--no-dry-run", "demo"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--dry-run'" in result.stderr


def test_unknown_profile_is_a_configuration_error(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["--repositories", "api", "--profile", "nowhere"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--profile'" in result.stderr


def test_missing_region_is_a_configuration_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    result = runner.invoke(cli.app, ["--repositories", "api"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "'--region'" in result.stderr


def test_missing_credentials_are_a_configuration_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    result = runner.invoke(cli.app, ["--repositories", "api"])

    assert result.exit_code == cli.EXIT_INVALID
    assert "credentials" in result.stderr


def _report(*, error: str | None = None, failed: bool = False, complete: bool = True) -> RunReport:
    repository = RepositoryReport("api", complete=complete, error=error)
    if failed:
        repository.add_failures([Failure("sha256:" + "0" * 64, "KmsError", "no key")])
    return RunReport(dry_run=False, repositories=[repository])


@pytest.mark.parametrize(
    ("report", "code"),
    [
        (_report(), cli.EXIT_OK),
        (RunReport(dry_run=True), cli.EXIT_OK),
        (_report(failed=True), cli.EXIT_FAILED),
        (_report(error="AccessDeniedException: no"), cli.EXIT_FAILED),
        (RunReport(dry_run=False, error="nothing was deleted: ecs"), cli.EXIT_FAILED),
        (_report(complete=False), cli.EXIT_INCOMPLETE),
        (_report(complete=False, failed=True), cli.EXIT_FAILED),
    ],
)
def test_exit_codes(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, report: RunReport, code: int
) -> None:
    @contextmanager
    def no_registry(settings: Settings, *, announce: bool) -> Iterator[tuple[Any, Any, Any]]:
        yield None, None, []

    monkeypatch.setattr(cli, "local_registry", no_registry)
    monkeypatch.setattr(cli, "execute", lambda *args, **kwargs: report)

    result = runner.invoke(cli.app, ["--local"])

    assert result.exit_code == code
    assert cli.exit_code(report) == code


def test_help_documents_the_exit_codes(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["--help"])

    assert result.exit_code == 0
    for code in (
        "0  everything went as asked",
        "1  some deletions failed",
        "2  invalid",
        "3  the run was incomplete",
    ):
        assert code in result.stdout
    for flag in cli.FLAGS.values():
        assert flag in result.stdout
