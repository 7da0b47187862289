"""Runs on the seeded local ECR: the function's result, the registry left behind, the demo."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from ecr_cleanup.decide import KEEP_REASONS
from ecr_cleanup.report import RunReport
from tools import cli, sample_registry
from tools.local_ecr import LocalEcr
from tools.sample_registry import SampleImage

ROOT = Path(__file__).resolve().parents[2]
DRY_RUN_KEPT = {
    "too_new": 5,
    "recently_pulled": 1,
    "index_child": 5,
    "referrer": 2,
    "in_use": 5,  # an ECS task, a service at 0, a task definition, two Lambda versions
    "ecr_refused": 0,
    "tagged": 1,
    "restoring": 1,
    "newest": 0,  # KEEP_UNTAGGED is 0 by default
    "replicated": 2,
    "unreadable_index": 0,  # needs an archived index ECR will not serve: not in the sample
    "shared": 0,
}


def _left(local: LocalEcr) -> set[str]:
    """Every digest the double holds now, in every repository of the sample."""
    return {d for name in sample_registry.REPOSITORIES for d in local.images(name)}


def _misjudged(left: set[str], sample: list[SampleImage]) -> list[str]:
    """The sample images whose presence is not what their ``stays`` flag says."""
    return [
        f"{image.repository}: {image.what} ({'gone' if image.stays else 'left'})"
        for image in sample
        if (image.digest in left) != image.stays
    ]


def _invoke_json(runner: CliRunner, *args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(cli.app, ["--local", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def _with_faults(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[LocalEcr, list[SampleImage]], None]
) -> None:
    """Seed the sample registry as usual, then let ``change`` inject faults into it."""
    seed = sample_registry.seed

    def seed_then_change(local: LocalEcr, now: datetime) -> list[SampleImage]:
        images = seed(local, now)
        change(local, images)
        return images

    monkeypatch.setattr(sample_registry, "seed", seed_then_change)


def test_json_is_the_function_result_for_a_dry_run_then_a_real_run(runner: CliRunner) -> None:
    code, dry = _invoke_json(runner)

    assert code == cli.EXIT_OK
    assert dry.keys() == RunReport(dry_run=True).as_dict().keys()
    assert dry["dry_run"] is True
    assert dry["totals"] == {
        "untagged": 37,  # legacy is skipped: its images are not even listed
        "deleted": 0,
        "would_delete": 15,
        "already_gone": 0,
        "failed": 0,
        "bytes_reclaimed": dry["totals"]["bytes_reclaimed"],  # type: ignore[index]
        "kept": DRY_RUN_KEPT,
        "repositories": 5,
        "repositories_failed": 0,
        "repositories_skipped": 1,
    }
    by_name = {r["name"]: r for r in dry["repositories"]}  # type: ignore[attr-defined]
    assert [name for name, r in by_name.items() if r["skipped"]] == ["legacy"]
    assert by_name["legacy"]["untagged"] == 0
    assert by_name["shared/base"]["kept"]["replicated"] == by_name["shared/base"]["untagged"] == 2

    code, real = _invoke_json(runner, "--no-dry-run")

    assert code == cli.EXIT_OK
    assert real["dry_run"] is False
    totals = real["totals"]
    assert isinstance(totals, dict)
    assert (totals["deleted"], totals["would_delete"], totals["failed"]) == (14, 0, 0)
    assert totals["kept"] == {**DRY_RUN_KEPT, "ecr_refused": 1}


def test_a_dry_run_deletes_nothing_and_a_real_run_leaves_what_is_needed() -> None:
    dry = cli.validate_settings({"REPOSITORIES": "*"})
    real = cli.validate_settings({"REPOSITORIES": "*", "DRY_RUN": False})
    screen = io.StringIO()
    with cli.local_registry(dry, announce=False) as (clients, local, sample):
        assert _left(local) == {image.digest for image in sample}
        terminal = Console(file=screen, force_terminal=True, width=120)
        assert cli.exit_code(cli.execute(dry, clients, console=terminal)) == cli.EXIT_OK
        assert _left(local) == {image.digest for image in sample}

        assert cli.exit_code(cli.execute(real, clients)) == cli.EXIT_OK
        assert _misjudged(_left(local), sample) == []
        assert len(_left(local)) == 33

    assert "5/5" in screen.getvalue()  # the progress bar: repositories done of total
    assert "37 untagged images examined, 15 would delete" in screen.getvalue()


def test_flags_reach_the_run(runner: CliRunner) -> None:
    _, relaxed = _invoke_json(
        runner,
        *("--repositories", "a*,batch,web", "--exclude", "web", "--image-status", "ANY"),
        *("--keep-pulled-within-days", "0", "--no-protect-in-use", "--max-workers", "1"),
    )

    repositories = relaxed["repositories"]
    assert isinstance(repositories, list)
    assert [r["name"] for r in repositories] == ["api", "batch"]
    totals = relaxed["totals"]
    assert isinstance(totals, dict)
    assert totals["untagged"] == 9 + 7  # batch's archived and restoring images count too
    assert totals["kept"]["recently_pulled"] == totals["kept"]["in_use"] == 0
    assert totals["kept"]["restoring"] == 1, "kept whatever --image-status says"


def test_without_local_it_runs_on_the_configured_aws(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real-AWS path, pointed by the standard endpoint variable at a local registry."""
    with LocalEcr() as local:
        local.reset()
        sample = sample_registry.seed(local, datetime.now(UTC))
        monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint_url)
        try:
            result = runner.invoke(
                cli.app, ["--repositories", "*", "--region", "us-east-1", "--no-dry-run"]
            )
            left = _left(local)
        finally:
            local.reset()

    assert result.exit_code == cli.EXIT_OK, result.output
    assert "Cleanup: untagged images deleted" in result.stdout
    assert _misjudged(left, sample) == []


def test_failed_deletions_exit_1_and_are_named(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_one_deletion(local: LocalEcr, sample: list[SampleImage]) -> None:
        doomed = next(image.digest for image in sample if not image.stays)
        local.faults.failure_codes[doomed] = "KmsError"

    _with_faults(monkeypatch, fail_one_deletion)

    result = runner.invoke(cli.app, ["--local", "--no-dry-run"])

    assert result.exit_code == cli.EXIT_FAILED
    assert "KmsError" in result.stdout


def test_a_spent_time_budget_exits_3(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_down(local: LocalEcr, sample: list[SampleImage]) -> None:
        local.faults.latency_ms = 400

    _with_faults(monkeypatch, slow_down)

    result = runner.invoke(cli.app, ["--local", "--time-budget-seconds", "1"])

    assert result.exit_code == cli.EXIT_INCOMPLETE
    assert "not finished" in result.stdout


def test_demo_shows_every_reason_and_leaves_what_the_sample_says(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}
    remaining_table = cli.remaining_table

    def remember(local: LocalEcr, sample: list[SampleImage]) -> Table:
        seen["misjudged"] = _misjudged(_left(local), sample)  # after every run of the demo
        return remaining_table(local, sample)

    monkeypatch.setattr(cli, "remaining_table", remember)

    result = runner.invoke(cli.app, ["demo"])

    assert result.exit_code == cli.EXIT_OK, result.output
    assert seen["misjudged"] == []
    out = result.stdout
    assert (
        out.index("DRY RUN: nothing was deleted")
        < out.index("KEEP_UNTAGGED=1: the newest untagged image")
        < out.index("Cleanup: untagged images deleted")
    )
    assert "Left in the local registry: 33 of 47 images" in out
    assert "skipped: tagged ecr-untagged-cleanup=skip" in out
    for what in (
        "runs in an ECS task",
        "in an ECS service scaled to 0",
        "named by digest in a task definition",
        "Lambda version 1 (no alias)",
        "Lambda alias 'live'",
        "replicated to another account",
        "repository opted out",
    ):
        assert what in out, what
    assert "examined" not in out  # no progress bar when stdout is not a terminal

    # Every reason the function has keeps at least one image somewhere in the demo, but
    # unreadable_index: ECR's answer for an archived index is undocumented (Faults).
    shown: dict[str, int] = dict.fromkeys(map(str, KEEP_REASONS), 0)
    for reason, count in re.findall(r"^\s*([a-z_]+)\s+(\d+)\s", out, re.MULTILINE):
        if reason in shown:  # a row of a "kept, by reason" table
            shown[reason] = max(shown[reason], int(count))
    (newest,) = re.findall(r"^newest: (\d+) kept", out, re.MULTILINE)
    shown["newest"] = int(newest)
    assert shown == {**DRY_RUN_KEPT, "ecr_refused": 1, "newest": 3}
    assert set(cli.WHY_KEPT) == set(KEEP_REASONS), "every reason is explained"


def test_stdout_holds_only_the_json_even_with_debug_logs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli", "--local", "--json", "-vv", "--repositories", "api"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == cli.EXIT_OK, result.stderr
    assert json.loads(result.stdout)["totals"]["untagged"] == 9
    assert '"message":"decision"' in result.stderr
    assert '"message":"repository done"' in result.stderr
