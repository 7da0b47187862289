"""``python -m tools.cli``: run the cleanup Lambda's own code from a terminal.

It calls ``run_cleanup`` with a ``Settings`` validated the way the function validates its
environment, so a flag is refused whenever the matching variable would be. It runs against
real AWS with your own credentials (``--profile``, ``--region``), or against the built-in
local ECR seeded with a sample registry (``--local``: 127.0.0.1, fake credentials).
``python -m tools.cli demo`` runs a dry run, the same keeping the newest untagged image of
each repository, then a real run, on one local registry.

Exit codes:
  0  everything went as asked
  1  some deletions failed, or a repository (or the whole run) reported an error
  2  invalid flags or configuration (typer's usage errors use 2 as well)
  3  the run was incomplete: the time budget ran out
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from unittest import mock

import boto3
import msgspec
import typer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound
from rich import box
from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# The function's package lives in the Lambda asset's root, not in site-packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda"))
# As deployed: Powertools names the function's loggers after the service when imported.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ecr-untagged-cleanup")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EcrUntaggedCleanup")

from ecr_cleanup.cleanup import Progress as ProgressCallback
from ecr_cleanup.cleanup import monotonic_deadline, repositories_in_scope, run_cleanup
from ecr_cleanup.clients import Clients, make_clients
from ecr_cleanup.decide import KEEP_REASONS, Reason
from ecr_cleanup.errors import ConfigError
from ecr_cleanup.registry import Registry
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Request
from ecr_cleanup.settings import MISSING, Settings
from ecr_cleanup.telemetry import repository_fields

if TYPE_CHECKING:
    from tools.local_ecr import LocalEcr
    from tools.sample_registry import SampleImage

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INCOMPLETE = 3
EPILOG = """\b
Exit codes:
  0  everything went as asked
  1  some deletions failed, or a repository (or the whole run) reported an error
  2  invalid flags or configuration
  3  the run was incomplete: the time budget ran out"""

# Each setting's environment variable, as the settings name it in errors, and its flag.
FLAGS = {
    "REPOSITORIES": "--repositories",
    "EXCLUDE_REPOSITORIES": "--exclude",
    "DRY_RUN": "--dry-run",
    "REGISTRY_ID": "--registry-id",
    "IMAGE_STATUS": "--image-status",
    "MIN_AGE_HOURS": "--min-age-hours",
    "KEEP_PULLED_WITHIN_DAYS": "--keep-pulled-within-days",
    "KEEP_UNTAGGED": "--keep-untagged",
    "PROTECT_IN_USE": "--protect-in-use",
    "MAX_WORKERS": "--max-workers",
    "TASK_DEFINITION_REVISIONS": "--task-definition-revisions",
    "SHARED_REPOSITORIES": "--shared-repositories",
    "EKS_CLUSTERS": "--eks-clusters",
    "EKS_UNREADABLE": "--eks-unreadable",
    "EKS_IGNORE": "--eks-ignore",
}
# Why an image stays, in a few words, for the report's "kept, by reason" table.
WHY_KEPT = {
    Reason.TOO_NEW: "pushed or restored less than MIN_AGE_HOURS ago",
    Reason.RECENTLY_PULLED: "pulled within KEEP_PULLED_WITHIN_DAYS",
    Reason.INDEX_CHILD: "an index that stays references it",
    Reason.REFERRER: "a signature, SBOM or attestation of an image that stays",
    Reason.IN_USE: "a workload pins it: ECS, Lambda, Batch, App Runner or EKS",
    Reason.ECR_REFUSED: "ECR refused: an index pushed since references it",
    Reason.TAGGED: "tagged while the run scanned, or just before its deletion",
    Reason.RESTORING: "being restored from the archive",
    Reason.NEWEST: "among the KEEP_UNTAGGED newest untagged images of its repository",
    Reason.REPLICATED: "deleting it would delete a replica that is still needed",
    Reason.UNREADABLE_INDEX: "an index that exists but whose manifest cannot be read",
    Reason.SHARED: "other accounts may pull from its repository (SHARED_REPOSITORIES=keep)",
}
SKIP_NOTE = "skipped: tagged ecr-untagged-cleanup=skip"
# The user's own AWS settings that could send a local run's clients elsewhere.
USER_AWS_SETTINGS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")

log = logging.getLogger("ecr_cleanup.cli")
app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
Verbose = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        help="Log to stderr: -v each repository's result, -vv also every image's decision.",
    ),
]


def _default(field: str) -> str:
    """The function's default, for the help text: the one source of truth is Settings."""
    (default,) = (f.default for f in msgspec.structs.fields(Settings) if f.name == field)
    return f"[default: {default}]"


@app.callback(invoke_without_command=True, epilog=EPILOG)
def main(
    ctx: typer.Context,
    *,
    local: Annotated[
        bool, typer.Option("--local", help="Run on a local ECR seeded with a sample registry.")
    ] = False,
    profile: Annotated[
        str | None, typer.Option(metavar="NAME", help="AWS profile (real AWS only).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="AWS region (real AWS only).")
    ] = None,
    repositories: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAMES",
            help="Repositories or globs, comma-separated or repeated; '*' for all. "
            "Required against AWS; '*' by default with --local.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(metavar="NAMES", help="Repositories or globs to leave alone."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="Only count what would be deleted.")
    ] = True,
    min_age_hours: Annotated[
        str | None,
        typer.Option(
            metavar="HOURS",
            help="Keep untagged images pushed less than this long ago. "
            + _default("min_age_hours"),
        ),
    ] = None,
    keep_pulled_within_days: Annotated[
        str | None,
        typer.Option(
            metavar="DAYS",
            help="Keep images pulled within this many days; 0 ignores pulls. "
            + _default("keep_pulled_within_days"),
        ),
    ] = None,
    keep_untagged: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Keep the N most recently pushed untagged images of each repository. "
            + _default("keep_untagged"),
        ),
    ] = None,
    protect_in_use: Annotated[
        bool,
        typer.Option(
            "--protect-in-use/--no-protect-in-use",
            help="Keep digests that running ECS tasks and Lambda functions use.",
        ),
    ] = True,
    image_status: Annotated[
        str | None,
        typer.Option(
            metavar="ACTIVE|ANY",
            help="Untagged images to consider; ANY includes archived ones. "
            + _default("image_status"),
        ),
    ] = None,
    registry_id: Annotated[
        str | None,
        typer.Option(metavar="ACCOUNT", help="The registry's 12-digit account id, if not yours."),
    ] = None,
    max_workers: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Repositories cleaned concurrently, 1-16. " + _default("max_workers"),
        ),
    ] = None,
    task_definition_revisions: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Newest ACTIVE revisions per task definition family whose digests stay, "
            "0-1000 (0: all). " + _default("task_definition_revisions"),
        ),
    ] = None,
    shared_repositories: Annotated[
        str | None,
        typer.Option(
            metavar="keep|pull-time",
            help="Repositories other accounts may pull from: keep their untagged images, or "
            "clean them trusting recent pulls only. " + _default("shared_repositories"),
        ),
    ] = None,
    eks_clusters: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAMES",
            help="EKS clusters whose workloads keep their images: names or globs, comma- "
            "separated or repeated. [default: every cluster]",
        ),
    ] = None,
    eks_unreadable: Annotated[
        str | None,
        typer.Option(
            metavar="fail|skip",
            help="A cluster that cannot be read: fail (delete nothing), or skip it when "
            "--eks-ignore names it. " + _default("eks_unreadable"),
        ),
    ] = None,
    eks_ignore: Annotated[
        list[str] | None,
        typer.Option(metavar="NAMES", help="EKS clusters --eks-unreadable skip may leave unread."),
    ] = None,
    time_budget_seconds: Annotated[
        float | None,
        typer.Option(
            min=1,
            metavar="SECONDS",
            help="Start no ECR call after this long; the run then ends incomplete (exit 3).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the function's result, as JSON.")
    ] = False,
    verbose: Verbose = 0,
) -> None:
    """Delete the untagged ECR images nothing needs, as the Lambda function does.

    A dry run unless --no-dry-run. Try it with --local, or run `demo`.
    """
    if ctx.invoked_subcommand is not None:
        _refuse_run_options(ctx)
        return
    _configure_logging(verbose)
    if local and (profile or region):
        flag = "--profile" if profile else "--region"
        raise typer.BadParameter("for real AWS only, not with --local", param_hint=f"'{flag}'")
    settings = validate_settings(
        {
            "REPOSITORIES": _joined(repositories) if repositories else "*" if local else None,
            "EXCLUDE_REPOSITORIES": _joined(exclude),
            "DRY_RUN": dry_run,
            "REGISTRY_ID": registry_id,
            "IMAGE_STATUS": image_status,
            "MIN_AGE_HOURS": min_age_hours,
            "KEEP_PULLED_WITHIN_DAYS": keep_pulled_within_days,
            "KEEP_UNTAGGED": keep_untagged,
            "PROTECT_IN_USE": protect_in_use,
            "MAX_WORKERS": max_workers,
            "TASK_DEFINITION_REVISIONS": task_definition_revisions,
            "SHARED_REPOSITORIES": shared_repositories,
            "EKS_CLUSTERS": _joined(eks_clusters),
            "EKS_UNREADABLE": eks_unreadable,
            "EKS_IGNORE": _joined(eks_ignore),
        }
    )
    stdout = _stdout()
    budget = time_budget_seconds
    if local:
        with local_registry(settings, announce=not json_output) as (clients, _, _):
            report = execute(settings, clients, budget=budget, console=_bar_console(stdout))
    else:
        clients = aws_clients(settings, profile, region)
        report = execute(settings, clients, budget=budget, console=_bar_console(stdout))
    if json_output:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        show_report(stdout, report)
    raise typer.Exit(exit_code(report))


@app.command(epilog=EPILOG)
def demo(verbose: Verbose = 0) -> None:
    """On one local registry: dry runs, a real run, then what is left in the registry."""
    _configure_logging(verbose)
    stdout = _stdout()
    dry = validate_settings({"REPOSITORIES": "*", "DRY_RUN": True})
    newest = validate_settings({"REPOSITORIES": "*", "DRY_RUN": True, "KEEP_UNTAGGED": 1})
    real = validate_settings({"REPOSITORIES": "*", "DRY_RUN": False})
    with local_registry(dry, announce=True) as (clients, local, sample):
        stdout.rule("1. A dry run with the default settings: what would go, and why the rest stays")
        first = execute(dry, clients, console=_bar_console(stdout))
        show_report(stdout, first)
        stdout.rule("2. The same dry run with KEEP_UNTAGGED=1 (the default is 0)")
        keeping = execute(newest, clients, console=_bar_console(stdout))
        show_newest(stdout, first, keeping)
        stdout.rule("3. A real run with the default settings")
        second = execute(real, clients, console=_bar_console(stdout))
        show_report(stdout, second)
        stdout.rule("4. What is left")
        stdout.print(remaining_table(local, sample))
    raise typer.Exit(exit_code(first) or exit_code(keeping) or exit_code(second))


@app.command(
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def preflight(ctx: typer.Context) -> None:
    """Check, read-only, what `cdk deploy` needs: the same as `python -m tools.preflight`."""
    from tools.preflight import app as preflight_app  # noqa: PLC0415 - loads the CDK library

    preflight_app(ctx.args, prog_name="python -m tools.cli preflight")


def validate_settings(values: Mapping[str, object]) -> Settings:
    """The function's own validation; ``values`` by environment name, None meaning unset."""
    try:
        return Settings.from_env({k: v for k, v in values.items() if v is not None})
    except ConfigError as error:
        problems = []
        for name, why in error.problems:
            reason = why
            if why == MISSING:
                reason = "missing: name the repositories or globs to clean ('*' for all)"
            problems.append((FLAGS.get(name.split("[")[0], name), reason))
        (flag, reason), *others = problems
        more = [f"Invalid value for '{other}': {why}" for other, why in others]
        raise typer.BadParameter("\n".join([reason, *more]), param_hint=f"'{flag}'") from None


def aws_clients(settings: Settings, profile: str | None, region: str | None) -> Clients:
    """The function's clients, on the user's own credentials (boto3's usual chain)."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        if session.get_credentials() is None:
            raise typer.BadParameter("no AWS credentials found", param_hint="'--profile'")
        return make_clients(settings.max_workers, session=session)
    except ProfileNotFound as error:
        raise typer.BadParameter(str(error), param_hint="'--profile'") from None
    except NoRegionError:
        raise typer.BadParameter(
            "no region configured (or set AWS_REGION)", param_hint="'--region'"
        ) from None


@contextmanager
def local_registry(
    settings: Settings, *, announce: bool
) -> Iterator[tuple[Clients, LocalEcr, list[SampleImage]]]:
    """Start the local ECR, seed the sample registry, and make clients that only reach it.

    The clients come from the function's own make_clients (same retries and timeouts).
    While the registry runs, the process environment is the double's: 127.0.0.1 and fake
    credentials, whatever the user's AWS configuration says; each client is checked too.
    """
    # moto takes a second to import, and runs against AWS never need it.
    from tools.local_ecr import LocalEcr  # noqa: PLC0415
    from tools.sample_registry import seed  # noqa: PLC0415

    local_env = {"POWERTOOLS_TRACE_DISABLED": "1"}
    with LocalEcr() as local, mock.patch.dict(os.environ, local_env):
        local.reset()  # moto's state is process-wide: start from an empty registry
        sample = seed(local, datetime.now(UTC))
        os.environ.update(local.environment())
        for name in [*USER_AWS_SETTINGS, *os.environ]:
            if name in USER_AWS_SETTINGS or name.startswith("AWS_ENDPOINT_URL_"):
                os.environ.pop(name, None)
        clients = make_clients(settings.max_workers, session=boto3.Session())
        # The in-use clients made now rather than when a run first needs them, to be checked.
        in_use = clients.in_region(clients.ecr.meta.region_name)
        clients = dataclasses.replace(
            clients,
            ecs=in_use.ecs,
            lambda_=in_use.lambda_,
            batch=in_use.batch,
            app_runner=in_use.app_runner,
            eks=in_use.eks,
        )
        made = (
            clients.ecr,
            clients.ecs,
            clients.lambda_,
            clients.batch,
            clients.app_runner,
            clients.eks,
        )
        for client in made:
            if client is not None and client.meta.endpoint_url != local.endpoint_url:
                raise RuntimeError(f"a local client would reach {client.meta.endpoint_url}")
        if announce:
            Console(stderr=True).print(
                f"Local ECR on {local.endpoint_url}, seeded with {len(sample)} images in "
                f"{len({image.repository for image in sample})} repositories."
            )
        try:
            yield clients, local, sample
        finally:
            local.reset()


def execute(
    settings: Settings,
    clients: Clients,
    *,
    budget: float | None = None,
    console: Console | None = None,
) -> RunReport:
    """One run_cleanup as the function runs it, watched by a progress bar on ``console``.

    The time budget starts now, after any local seeding. Its margin is zero: Lambda's 45
    seconds leave time to log and return before the function is killed, and nothing
    kills this process.
    """
    deadline = monotonic_deadline(budget, margin_seconds=0) if budget else None
    names, account = _repositories(settings, clients)
    request = Request(dry_run=settings.dry_run, repositories=names, source="cli")
    total = None if names is None else len(names)
    with _progress_bar(console, total, settings.dry_run) as show_progress:

        def progress(report: RepositoryReport, finished: bool) -> None:
            show_progress(report, finished)
            if finished:
                log.info("repository done", extra=repository_fields(report, request.dry_run))

        return run_cleanup(
            settings,
            request,
            clients,
            now=datetime.now(UTC),
            deadline=deadline,
            progress=progress,
            account_id=account,
        )


def exit_code(report: RunReport) -> int:
    if report.failed:
        return EXIT_FAILED
    if not report.complete:
        return EXIT_INCOMPLETE
    return EXIT_OK


def _repositories(
    settings: Settings, clients: Clients
) -> tuple[tuple[str, ...] | None, str | None]:
    """The repositories in scope, listed up front so that the progress bar has a total, and
    the registry's account when the listing showed it (repository ARNs are then built).

    They are picked as run_cleanup picks them, so naming them in the request narrows
    nothing. None leaves the listing, and reporting its error, to run_cleanup.
    """
    registry = Registry(clients.ecr, settings.registry_id)
    try:
        return tuple(repositories_in_scope(registry, settings)), registry.listed_account()
    except (ClientError, BotoCoreError):
        return None, None


@contextmanager
def _progress_bar(
    console: Console | None, total: int | None, dry_run: bool
) -> Iterator[ProgressCallback]:
    """A progress callback for run_cleanup's worker threads; it draws nothing without console."""
    if console is None:
        yield lambda report, finished: None
        return
    verb = "would delete" if dry_run else "deleted"
    columns = (
        TextColumn("repositories"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[examined]} untagged images examined, {task.fields[gone]} " + verb),
        TimeElapsedColumn(),
    )
    seen: dict[str, RepositoryReport] = {}
    done: set[str] = set()
    lock = threading.Lock()
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=total, examined=0, gone=0)

        def update(report: RepositoryReport, finished: bool) -> None:
            with lock:
                seen[report.name] = report
                if finished:
                    done.add(report.name)
                examined = sum(r.untagged for r in seen.values())
                gone = sum(r.deleted + r.would_delete for r in seen.values())
                bar.update(task, completed=len(done), examined=examined, gone=gone)

        yield update


def show_report(console: Console, report: RunReport) -> None:
    """The report as tables (per repository, then kept by reason), then what went wrong."""
    console.print(report_table(report))
    console.print(kept_table(report))
    problems = [f"Run failed: {report.error}"] if report.error else []
    for repository in report.repositories:
        if repository.error:
            problems.append(f"{repository.name}: {repository.error}")
        problems.extend(
            f"{repository.name}: {f.digest} not deleted: {f.code} {f.reason}"
            for f in repository.failures
        )
    for problem in problems:
        console.print(problem, style="red", highlight=False)
    for note in report.notes:
        console.print(note, style="yellow", highlight=False)
    unfinished = report.as_dict()["unfinished"]
    if unfinished:
        console.print(f"Time budget spent; not finished: {', '.join(unfinished)}", style="yellow")


def report_table(report: RunReport) -> Table:
    """Per repository and in total: what was found, what went, and how much stayed."""
    dry_run = report.dry_run
    title = (
        "DRY RUN: nothing was deleted ('would delete' is what a real run would delete)"
        if dry_run
        else "Cleanup: untagged images deleted"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, title_style="bold", pad_edge=False)
    table.add_column("repository", overflow="fold", min_width=len("repository"))
    headers = (
        "untagged",
        "would delete" if dry_run else "deleted",
        "kept",
        "failed",
        "would reclaim" if dry_run else "reclaimed",
    )
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    for repository in report.repositories:
        if repository.skipped:
            table.add_row(repository.name, *["-"] * len(headers), SKIP_NOTE, style="dim")
            continue
        style = "red" if repository.error else None if repository.complete else "yellow"
        note = "error (below)" if repository.error else "" if repository.complete else "unfinished"
        table.add_row(repository.name, *_cells(repository.as_dict(), dry_run), note, style=style)
    table.add_section()
    totals = report.totals()
    skipped = totals["repositories_skipped"]
    note = f"{skipped} repositor{'y' if skipped == 1 else 'ies'} skipped" if skipped else ""
    table.add_row("total", *_cells(totals, dry_run), note, style="bold")
    return table


def _cells(counts: Mapping[str, Any], dry_run: bool) -> list[str]:
    failed = counts["failed"]
    return [
        str(counts["untagged"]),
        str(counts["would_delete" if dry_run else "deleted"]),
        str(sum(counts["kept"].values())),
        f"[red]{failed}[/red]" if failed else "0",
        decimal(counts["bytes_reclaimed"]),
    ]


def kept_table(report: RunReport, most: int = 4) -> Table:
    """Every keep reason: how many images it kept, in which repositories (the ``most``
    first), and what it means. A reason that kept nothing is dimmed, never left out."""
    table = Table(title="Kept untagged images, by reason", box=box.SIMPLE_HEAD, title_style="bold")
    table.add_column("reason", no_wrap=True)
    table.add_column("kept", justify="right", no_wrap=True)
    table.add_column("in", overflow="fold")
    table.add_column("why it stays", overflow="fold")
    totals = report.totals()["kept"]
    for reason in KEEP_REASONS:
        where = sorted(
            ((r.kept[reason], r.name) for r in report.repositories if r.kept[reason]),
            key=lambda counted: (-counted[0], counted[1]),
        )
        shown = ", ".join(f"{name} {count}" for count, name in where[:most])
        if len(where) > most:
            shown += f", {len(where) - most} more"
        count = totals[str(reason)]
        table.add_row(
            str(reason), str(count), shown or "-", WHY_KEPT[reason], style=None if count else "dim"
        )
    return table


def show_newest(console: Console, default: RunReport, keeping: RunReport) -> None:
    """What the dry run with KEEP_UNTAGGED=1 (``keeping``) keeps as ``newest``, per
    repository, beside what the default dry run of the same registry would delete."""
    table = Table(
        title="KEEP_UNTAGGED=1: the newest untagged image of each repository stays",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        pad_edge=False,
    )
    table.add_column("repository", overflow="fold", min_width=len("repository"))
    headers = ("would delete, default", "KEEP_UNTAGGED=1", "kept: newest")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    before = {repository.name: repository.would_delete for repository in default.repositories}
    for repository in keeping.repositories:
        if repository.skipped:
            table.add_row(repository.name, *["-"] * len(headers), SKIP_NOTE, style="dim")
            continue
        table.add_row(
            repository.name,
            str(before.get(repository.name, "-")),
            str(repository.would_delete),
            str(repository.kept[Reason.NEWEST]),
        )
    table.add_section()
    was, now = default.totals()["would_delete"], keeping.totals()
    newest = now["kept"][str(Reason.NEWEST)]
    table.add_row("total", str(was), str(now["would_delete"]), str(newest), style="bold")
    console.print(table)
    console.print(
        f"newest: {newest} kept, so a dry run would delete {now['would_delete']} instead of "
        f"{was}. Index children and referrers take no place (they stay with their index or "
        "subject); an image kept for another reason (in_use, too_new, ...) takes its place "
        "but keeps that reason, so newest counts only the images it alone keeps.",
        highlight=False,
    )


def remaining_table(local: LocalEcr, sample: list[SampleImage]) -> Table:
    """What the registry holds now, each image described as the sample seeded it."""
    what = {image.digest: image.what for image in sample}
    now = datetime.now(UTC)
    rows = []
    for repository in sorted({image.repository for image in sample}):
        images = sorted(local.images(repository).items(), key=lambda item: item[1].pushed_at)
        for digest, image in images:
            tags = ", ".join(image.tags) or "-"
            pushed = _ago(now - image.pushed_at)
            rows.append((repository, digest[7:19], tags, image.status, pushed, what[digest]))
    table = Table(
        title=f"Left in the local registry: {len(rows)} of {len(sample)} images",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        pad_edge=False,
    )
    for header in ("repository", "digest", "tags", "status", "pushed", "what it is"):
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    return table


def _ago(age: timedelta) -> str:
    count, unit = (age.days, "day") if age.days else (age.seconds // 3600, "hour")
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def _stdout() -> Console:
    """stdout's console; a file or a pipe (a CI log) gets room for the report's columns."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120
    return console


def _bar_console(stdout: Console) -> Console | None:
    """Progress goes to stderr, and only when a person watches stdout."""
    stderr = Console(stderr=True)
    return stderr if stdout.is_terminal and stderr.is_terminal else None


def _configure_logging(verbosity: int) -> None:
    """Log lines go to stderr, as JSON like the function's, for stdout is the report's.

    -v shows INFO (each repository's result), -vv also the function's DEBUG lines (every
    image's decision); without it only warnings.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LambdaPowertoolsFormatter())
    logging.basicConfig(handlers=[handler])
    logging.getLogger().setLevel(logging.INFO if verbosity else logging.WARNING)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    service = os.environ["POWERTOOLS_SERVICE_NAME"]
    for name in [service, *logging.Logger.manager.loggerDict]:
        if name == service or name.startswith(f"{service}."):
            logging.getLogger(name).setLevel(level)


def _joined(values: list[str] | None) -> str | None:
    """Repeated flags and comma lists alike become the variable's comma list."""
    return None if values is None else ",".join(values)


def _refuse_run_options(ctx: typer.Context) -> None:
    """A subcommand runs on its own terms: options meant for a run would be ignored."""
    given = []
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name) if param.name else None
        if source is not None and source.name != "DEFAULT":
            given.append(param.opts[0])
    if given:
        hint = ", ".join(f"'{flag}'" for flag in given)
        raise typer.BadParameter(f"not an option of {ctx.invoked_subcommand}", param_hint=hint)


if __name__ == "__main__":
    app()
