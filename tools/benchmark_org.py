"""``python -m tools.benchmark --organization``: one execution of the hub across an organization.

The hub's template is synthesized for 3 accounts x 2 regions and deployed into the local
double, whose moto runs the state machine (Plan -> Scan -> Merge keep-sets -> Clean ->
Summarize). Account 111111111111 is the registry: 300 repositories x 200 untagged images in
each region (seeded straight into the double's tables), one tagged image each. The other two
run workloads in each region and pull from it: 50 ECS services on 5 clusters (their tasks
running), 100 task definition families (the services' own among them) and 30 image Lambda
functions x 2 versions, every deployment, revision and version naming one of the registry's
untagged images of that region by digest. Every ECR, ECS, Lambda, Batch, App Runner and EKS call
waits the injected latency. Each Lambda invocation runs in a fresh interpreter, as a new
container would, so its peak RSS is its own. It prints the scan phase's calls per source and
its time, the keep-sets' sizes, the execution's time, the calls per account against the
minimum (tools.sizing, which predicts them) and the peak RSS of each function. It asserts
nothing.

``--simulate`` checks tools.sizing against a run: 20 accounts x 2 regions x 20 repositories,
every account a registry whose images the next account's workloads pin, the handlers in
process. It prints the model's calls (per operation, and per account and region where they
differ) and invocations (per function) beside what the double recorded, and whether they are
equal. Nothing here talks to AWS.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools import sizing
from tools.benchmark import IN_USE_SOURCES, Workloads, planned_families, planned_services

if TYPE_CHECKING:
    from tools.local_ecr import Call, LocalEcr
    from tools.local_ecr.stepfunctions import LambdaHook

ROOT = Path(__file__).resolve().parent.parent
HUB_ACCOUNT = "999999999999"
HUB_REGION = "us-east-1"
SPOKE_ROLE = "EcrUntaggedCleanupSpoke"
PREFIX = "bench-"
TARGET_SERVICES = ("ecr", "ecs", "lambda", "batch", "apprunner", "eks")
"""The services whose calls are made in a target's account and region."""
HUB_OPERATIONS = ("sts:AssumeRole", "s3:GetObject", "s3:PutObject", "lambda:Invoke")
"""The hub account's calls the model predicts (DescribeExecution is left out: the harness
polls it, and warm containers remember a confirmed run for a minute)."""
SCHEDULED_EVENT = {
    "version": "0",
    "id": "benchmark-organization",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": HUB_ACCOUNT,
    "time": "2026-11-27T03:00:00Z",
    "region": HUB_REGION,
    "resources": [],
    "detail": {},
}


# --- the organization's shape ----------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Which account holds what in every region, and whose registry its workloads pull from.

    A registry's repositories are ``bench-00000``, ...; all but the last ``idle`` hold
    ``untagged`` old images, every one a tagged image. A workload account's workloads
    (`seed_workloads`) name, by digest, images of the registry ``pulls_from`` names, in the
    same region, dealt round-robin over its repositories that have untagged images.
    """

    name: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    repositories: Mapping[str, int]  # per region, by account (absent: none)
    untagged: int
    workloads: Mapping[str, Workloads] = field(default_factory=dict)
    pulls_from: Mapping[str, str] = field(default_factory=dict)
    idle: int = 0
    per_item: int = sizing.REPOSITORIES_PER_ITEM

    def pullers(self, registry: str) -> list[str]:
        return [a for a in self.accounts if self.pulls_from.get(a) == registry]

    def active(self, account: str) -> int:
        """Repositories of ``account`` with untagged images, per region."""
        return max(0, self.repositories.get(account, 0) - self.idle)

    def pins(self, registry: str) -> list[int]:
        """Pinned untagged images per repository of ``registry``, in name order."""
        wanted = sum(sizing.references(self.workloads[a]) for a in self.pullers(registry))
        idle = self.repositories.get(registry, 0) - self.active(registry)
        return sizing.spread(wanted, self.active(registry)) + [0] * idle

    def organization(self) -> sizing.Organization:
        """The shape as tools.sizing models it, one account after another."""
        app_runner = _app_runner_regions()
        accounts = tuple(
            (
                sizing.Account(
                    tuple(
                        sizing.Target(
                            sizing.runs(
                                sizing.Repository(self.untagged if n < self.active(a) else 0, 1, p)
                                for n, p in enumerate(self.pins(a))
                            ),
                            workloads=self.workloads.get(a),
                            app_runner=region in app_runner,
                        )
                        for region in self.regions
                    )
                ),
                1,
            )
            for a in self.accounts
        )
        return sizing.Organization(accounts, repositories_per_item=self.per_item)

    def context(self) -> dict[str, object]:
        return {
            "accounts": ",".join(self.accounts),
            "regions": ",".join(self.regions),
            "repositories": f"{PREFIX}*",
            "dryRun": "false",
            "repositoriesPerItem": self.per_item,
            "spokeRoleName": SPOKE_ROLE,
        }


def _app_runner_regions() -> frozenset[str]:
    import botocore.session  # noqa: PLC0415

    return frozenset(botocore.session.get_session().get_available_regions("apprunner"))


REGISTRY, WORKLOADS_A, WORKLOADS_B = "111111111111", "222222222222", "333333333333"
REGIONS = ("eu-west-1", "eu-central-1")
FULL = Layout(
    "3 accounts x 2 regions: one registry (300 x 200 untagged a region), two workload accounts",
    accounts=(REGISTRY, WORKLOADS_A, WORKLOADS_B),
    regions=REGIONS,
    repositories={REGISTRY: 300},
    untagged=200,
    workloads={WORKLOADS_A: sizing.WORKLOADS, WORKLOADS_B: sizing.WORKLOADS},
    pulls_from={WORKLOADS_A: REGISTRY, WORKLOADS_B: REGISTRY},
)
QUICK = Layout(
    "quick: one registry (10 x 20 untagged a region), two small workload accounts",
    accounts=FULL.accounts,
    regions=REGIONS,
    repositories={REGISTRY: 10},
    untagged=20,
    workloads={
        a: Workloads("quick", clusters=1, services=3, families=5, functions=2, versions=1, unused=0)
        for a in (WORKLOADS_A, WORKLOADS_B)
    },
    pulls_from=FULL.pulls_from,
    per_item=5,
)
SIMULATED_WORKLOADS = Workloads(
    "simulated", clusters=1, services=2, families=3, functions=1, versions=1, unused=0
)


def simulated(accounts: int, regions: tuple[str, ...], repositories: int, **kwargs: Any) -> Layout:
    """Every account a registry of ``repositories`` (the last two idle) whose images the
    next account's workloads pin (the last account's pin the first's)."""
    ids = tuple(str(100_000_000_000 + n) for n in range(accounts))
    return Layout(
        f"simulated: {accounts} accounts x {len(regions)} regions x {repositories} repositories",
        accounts=ids,
        regions=regions,
        repositories=dict.fromkeys(ids, repositories),
        untagged=kwargs.pop("untagged", 5),
        workloads=dict.fromkeys(ids, kwargs.pop("workloads", SIMULATED_WORKLOADS)),
        pulls_from={a: ids[(n + 1) % accounts] for n, a in enumerate(ids)},
        idle=kwargs.pop("idle", 2),
        **kwargs,
    )


SIMULATE = simulated(20, REGIONS, 20)


# --- seeding -------------------------------------------------------------------------------


def seed(hub: LocalEcr, layout: Layout) -> None:
    """Every account's spoke role, registries and workloads; then the calls are forgotten.

    Lambda functions are created here, before moto executes state machines (its Lambda
    stays in its docker backend, whose invoke the hook replaces).
    """
    from tools.local_ecr.inuse import image_uri  # noqa: PLC0415

    old = datetime.now(UTC) - timedelta(days=30)
    for account in layout.accounts:
        hub.at(account, HUB_REGION).create_role(SPOKE_ROLE)
    for region in layout.regions:
        pinnable: dict[str, Iterator[tuple[str, str]]] = {}
        for account in layout.accounts:
            registry = hub.at(account, region)
            names = registry.bulk_repositories(PREFIX, layout.repositories.get(account, 0))
            pullers = layout.pullers(account)
            for n, name in enumerate(names):
                if n < layout.active(account):
                    registry.bulk_untagged(name, layout.untagged, pushed_at=old)
                registry.push_image(name, "latest", pushed_at=old)
                if pullers:
                    registry.set_pull_policy(name, *pullers)
            pinnable[account] = _round_robin(registry, names[: layout.active(account)])
        for account in layout.accounts:
            if account in layout.workloads:
                source = layout.pulls_from[account]
                images = (
                    (repo, digest, image_uri(source, region, repo, digest))
                    for repo, digest in pinnable[source]
                )
                seed_workloads(hub.at(account, region), layout.workloads[account], source, images)
    hub.clear_calls()


def _round_robin(registry: LocalEcr, names: list[str]) -> Iterator[tuple[str, str]]:
    """The registry's untagged digests, one repository after the other, round and round."""
    left = {
        name: sorted(d for d, image in registry.images(name).items() if not image.tags)
        for name in names
    }
    for turn in range(sum(len(digests) for digests in left.values())):
        name = names[turn % len(names)]
        if not left[name]:
            raise ValueError(f"{name}: more pins than untagged images")
        yield name, left[name].pop(0)
    raise ValueError("more pins than untagged images")


def seed_workloads(
    target: LocalEcr, workloads: Workloads, registry: str, images: Iterator[tuple[str, str, str]]
) -> None:
    """`tools.benchmark.seed_in_use`'s workloads in ``target``, each image one of
    ``images`` ((repository, digest, URI) of ``registry``'s, in the target's region)."""
    ecs = target._internal_client("ecs")  # served as the target's account, not recorded
    region = target.region
    for service in planned_services(workloads):
        for _ in range(service.deployments):
            repo, digest, _uri = next(images)
            target.create_service(
                service.cluster,
                service.name,
                repo,
                digest,
                desired_count=service.desired,
                registry=(registry, region),
            )
        if service.desired:
            ecs.run_task(
                cluster=service.cluster,
                taskDefinition=service.family,
                count=service.desired,
                group=f"service:{service.name}",
                startedBy="ecs-svc/benchmark",
                launchType="FARGATE",
            )
    services = {service.family for service in planned_services(workloads)}
    for family, revisions in planned_families(workloads).items():
        if family not in services:
            for _ in range(revisions):
                target.register_task_definition(family, next(images)[2])
    for k in range(workloads.functions):
        for _ in range(max(workloads.versions, 1)):
            repo, digest, _uri = next(images)
            target.create_image_function(
                f"fn-{k:03d}",
                repo,
                digest,
                publish=workloads.versions > 0,
                registry=(registry, region),
            )


# --- one execution ------------------------------------------------------------------------


def synthesize(context: Mapping[str, object]) -> dict[str, Any]:
    """The hub's CloudFormation template, synthesized in this process (no CLI, no AWS)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App  # noqa: PLC0415 - CDK only for this mode
    from aws_cdk.assertions import Template  # noqa: PLC0415

    from infra.stack import build  # noqa: PLC0415

    defaults = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(context={**defaults, **context})
    return dict(Template.from_stack(build(app, nag=False)).to_json())


@dataclass
class Observed:
    """What one execution did, as the double and the hook recorded it."""

    layout: Layout
    execution: dict[str, Any]
    wall: float
    hook: LambdaHook
    calls: list[Call]
    functions: dict[str, str]  # function name -> handler
    objects: dict[str, int]  # work object key -> bytes
    scans: dict[str, Any]  # scans.json
    left: int  # untagged images left in every registry
    definition: dict[str, Any]
    max_concurrency: int


def execute(
    hub: LocalEcr,
    template: Mapping[str, Any],
    layout: Layout,
    *,
    in_subprocess: bool,
    latency_ms: float,
    run: str = "benchmark",
    timeout_s: float = 3 * 3600,
) -> Observed:
    """Reset the double, seed ``layout``, deploy the hub, run one execution, collect."""
    from tools.local_ecr import Faults  # noqa: PLC0415 - moto only in this mode
    from tools.local_ecr import stepfunctions as local_sfn  # noqa: PLC0415

    hub.reset(every_account=True)
    seed(hub, layout)
    local_sfn.configure_moto(hub.endpoint_url, execute=True)
    try:
        deployed = local_sfn.deploy_hub(hub, template)
        environment = {**hub.environment(), **deployed.environment}
        environment.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon
        with _environment(environment), _quiet(not in_subprocess):
            _clear_handler_caches()
            hub.faults = Faults(latency_ms=latency_ms, include_other_services=True)
            hub.clear_calls()
            hook = local_sfn.LambdaHook(subprocess=in_subprocess)
            try:
                with hook.installed():
                    started = time.perf_counter()
                    execution = local_sfn.run_execution(
                        hub.client("stepfunctions"),
                        deployed.state_machine_arn,
                        SCHEDULED_EVENT,
                        name=run,
                        timeout_s=timeout_s,
                    )
                    wall = time.perf_counter() - started
            finally:
                hub.faults = Faults()
                _clear_handler_caches()
    finally:
        local_sfn.configure_moto(hub.endpoint_url, execute=False)
    calls = hub.calls
    resources = template["Resources"]
    functions = {
        name: resources[logical]["Properties"]["Handler"]
        for logical, name in deployed.functions.items()
    }
    (bucket,) = deployed.buckets.values()
    s3 = hub._internal_client("s3")  # not recorded
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"runs/{run}/").get("Contents", [])
    objects = {entry["Key"]: int(entry["Size"]) for entry in listed}
    try:
        scans = json.loads(
            s3.get_object(Bucket=bucket, Key=f"runs/{run}/scans.json")["Body"].read()
        )
    except Exception:  # noqa: BLE001 - a failed run may have none; the figures say so
        scans = {}
    left = sum(
        1
        for account in layout.accounts
        for region in layout.regions
        for n in range(layout.repositories.get(account, 0))
        for image in hub.at(account, region).images(f"{PREFIX}{n:05d}").values()
        if not image.tags
    )
    definition = sizing.definition_of(template)
    concurrency = next(
        int(state["MaxConcurrency"])
        for state in definition["States"].values()
        if state["Type"] == "Map"
    )
    return Observed(
        layout,
        execution,
        wall,
        hook,
        calls,
        functions,
        objects,
        scans,
        left,
        definition,
        concurrency,
    )


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """These variables for the run (in-process handlers read the functions' own), then back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet(quiet: bool) -> Iterator[None]:
    """In-process handlers log and print metrics to stdout: keep only their warnings."""
    if not quiet:
        yield
        return
    _lambda_on_path()
    from ecr_cleanup.invocation import logger  # noqa: PLC0415

    level = logger.log_level
    logger.setLevel("WARNING")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _lambda_on_path() -> None:
    """The asset's root, for handlers run in this process (as Lambda imports them)."""
    if str(ROOT / "lambda") not in sys.path:
        sys.path.insert(0, str(ROOT / "lambda"))


def _clear_handler_caches() -> None:
    """The handlers build settings and clients once per container: each run is a new one."""
    _lambda_on_path()
    from ecr_cleanup.hub import clean, keep, plan, scan, summary  # noqa: PLC0415

    for module in (clean, keep, plan, scan, summary):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


# --- the model against the run -----------------------------------------------------------


@dataclass
class Comparison:
    """tools.sizing's counts and the run's, side by side."""

    prediction: sizing.Prediction
    model: dict[tuple[str, str], Counter[str]]  # (account, region) or hub -> calls
    recorded: dict[tuple[str, str], Counter[str]]
    invocations: dict[str, tuple[int, int, int]]  # handler -> (model, hook, Invoke calls)

    @property
    def differences(self) -> list[tuple[str, str, str, int, int]]:
        """(account, region, operation, model, recorded) wherever they differ."""
        found = []
        for where in sorted(self.model.keys() | self.recorded.keys()):
            model, recorded = self.model.get(where, Counter()), self.recorded.get(where, Counter())
            for operation in sorted(model.keys() | recorded.keys()):
                if model[operation] != recorded[operation]:
                    found.append((*where, operation, model[operation], recorded[operation]))
        return found

    @property
    def calls_equal(self) -> bool:
        return not self.differences

    @property
    def invocations_equal(self) -> bool:
        return all(model == hook == invoked for model, hook, invoked in self.invocations.values())

    def totals(self) -> tuple[Counter[str], Counter[str]]:
        model: Counter[str] = Counter()
        recorded: Counter[str] = Counter()
        for counts in self.model.values():
            model.update(counts)
        for counts in self.recorded.values():
            recorded.update(counts)
        return model, recorded


HUB = (HUB_ACCOUNT, HUB_REGION)


def compare(observed: Observed, latency_ms: float = 20.0) -> Comparison:
    layout = observed.layout
    organization = layout.organization()
    prediction = sizing.predict(
        organization,
        latency_ms=latency_ms,
        transitions=sizing.count_transitions(observed.definition),
    )
    model: dict[tuple[str, str], Counter[str]] = {}
    for account, (shape, _) in zip(layout.accounts, organization.accounts, strict=True):
        for region, target in zip(layout.regions, shape.targets, strict=True):
            model[(account, region)] = +sizing.target_calls(
                target, organization.repositories_per_item
            )
    model[HUB] = Counter({op: prediction.hub[op] for op in HUB_OPERATIONS})
    recorded: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    invoked: Counter[str] = Counter()
    for call in observed.calls:
        operation = f"{call.service}:{call.operation}"
        if call.account == HUB_ACCOUNT:
            if operation in HUB_OPERATIONS:
                recorded[HUB][operation] += 1
            if operation == "lambda:Invoke":
                name = str(call.params.get("FunctionName", "")).rpartition(":")[2]
                invoked[observed.functions.get(name, name)] += 1
        elif call.service in TARGET_SERVICES:
            recorded[(call.account, call.region)][operation] += 1
    hooked = observed.hook.counts()
    invocations = {
        handler: (prediction.invocations[handler], hooked[handler], invoked[handler])
        for handler in sizing.FUNCTIONS
    }
    return Comparison(prediction, model, dict(recorded), invocations)


def comparison_lines(comparison: Comparison, *, per_operation: bool = True) -> list[str]:
    """The model's counts beside the run's: per operation, per function, and where they differ."""
    model, recorded = comparison.totals()
    lines = []
    if per_operation:
        lines.append(f"{'operation (every account)':<38}{'model':>10}{'recorded':>10}")
        for operation in sorted(model.keys() | recorded.keys()):
            mark = "" if model[operation] == recorded[operation] else "  <- differs"
            lines.append(f"{operation:<38}{model[operation]:>10,}{recorded[operation]:>10,}{mark}")
    lines.append(f"{'invocations (function)':<38}{'model':>10}{'hook':>10}{'Invoke':>10}")
    for handler, (predicted, hooked, invoked) in comparison.invocations.items():
        lines.append(f"{sizing.FUNCTIONS[handler]:<38}{predicted:>10,}{hooked:>10,}{invoked:>10,}")
    differences = comparison.differences
    for account, region, operation, predicted, made in differences[:20]:
        lines.append(f"differs: {account}/{region} {operation}: model {predicted}, recorded {made}")
    if len(differences) > 20:
        lines.append(f"... and {len(differences) - 20} more differences")
    lines.append(
        f"calls equal in every account and region ({len(comparison.model)} places, "
        f"{sum(model.values()):,} calls): {'yes' if comparison.calls_equal else 'NO'}; "
        f"invocations equal: {'yes' if comparison.invocations_equal else 'NO'}"
    )
    return lines


# --- the figures ---------------------------------------------------------------------------


def _span(invocations: list[Any]) -> float:
    return float(
        max(i.started + i.seconds for i in invocations) - min(i.started for i in invocations)
    )


def report(observed: Observed, comparison: Comparison, latency_ms: float) -> list[str]:
    """Every figure the full benchmark prints."""
    prediction, layout = comparison.prediction, observed.layout
    by_handler: dict[str, list[Any]] = defaultdict(list)
    for invocation in observed.hook.invocations:
        by_handler[invocation.handler].append(invocation)
    lines = [
        f"\n== {layout.name}; {latency_ms:g} ms per ECR, ECS, Lambda, Batch, App Runner and "
        "EKS call",
        f"execution {observed.execution['status']} in {observed.wall:.1f} s (wall); the model "
        f"says {prediction.wall(observed.max_concurrency):.1f} s at maxConcurrency "
        f"{observed.max_concurrency}",
    ]
    lines.append(
        f"peak concurrent invocations {observed.hook.peak} (maxConcurrency "
        f"{observed.max_concurrency})"
    )
    if observed.execution.get("cause"):
        lines.append(f"cause: {str(observed.execution['cause'])[:500]}")
    lines.append(
        "phases: span = first invocation started to last ended; median, longest = one "
        "invocation's handler alone (its interpreter's start-up left out; the invocations "
        "share this machine's cores and the one double); model = tools.sizing's seconds for "
        "one invocation on Lambda (its cold start included)"
    )
    lines.append(
        f"{'':>4}{'phase':<18}{'invocations':>12}{'span':>9}{'median':>9}{'longest':>9}"
        f"{'model':>9}{'failed':>8}"
    )
    for handler, label in sizing.FUNCTIONS.items():
        invocations = by_handler.get(handler, [])
        if not invocations:
            lines.append(f"{'':>4}{label:<18}{0:>12}")
            continue
        seconds = [
            i.seconds if i.handler_seconds is None else i.handler_seconds for i in invocations
        ]
        lines.append(
            f"{'':>4}{label:<18}{len(invocations):>12,}{_span(invocations):>8.1f}s"
            f"{statistics.median(seconds):>8.1f}s{max(seconds):>8.1f}s"
            f"{prediction.longest(handler):>8.1f}s{sum(1 for i in invocations if i.error):>8}"
        )
    cleans = [i for i in by_handler.get(sizing.CLEAN, []) if i.handler_seconds is not None]
    made = sum(
        n
        for where, counts in comparison.recorded.items()
        if where != HUB
        for op, n in counts.items()
        if op.startswith("ecr:")
    )
    if cleans and made:
        busy = sum(i.handler_seconds for i in cleans) * prediction.organization.max_workers
        lines.append(
            f"{'':>4}each ECR call took {busy / made * 1000:.0f} ms of a clean item's worker "
            f"({latency_ms:g} ms injected; the rest is this machine: {len(cleans)} items x "
            f"{prediction.organization.max_workers} workers at once on {os.cpu_count()} cores "
            "and one double)"
        )
    lines += _scan_lines(observed, comparison, by_handler.get(sizing.SCAN, []))
    lines += _keep_lines(observed)
    expected_left = sum(p for account in layout.accounts for p in layout.pins(account)) * len(
        layout.regions
    )
    lines.append(
        f"untagged images left {observed.left:,} (pinned by the workloads: {expected_left:,})"
    )
    lines += _account_lines(comparison)
    lines.append("peak RSS per invocation (a fresh interpreter each):")
    for handler, label in sizing.FUNCTIONS.items():
        values = [i.rss_mib for i in by_handler.get(handler, []) if i.rss_mib is not None]
        if values:
            lines.append(
                f"{'':>4}{label:<18} max {max(values):6.1f} MiB, median "
                f"{statistics.median(values):6.1f} MiB over {len(values)}"
            )
    lines.append("the model (tools.sizing) against the run:")
    lines += comparison_lines(comparison, per_operation=False)
    return lines


def _scan_lines(observed: Observed, comparison: Comparison, scans: list[Any]) -> list[str]:
    model, recorded = Counter[str](), Counter[str]()
    for where, counts in comparison.model.items():
        if where != HUB:
            model.update({op: n for op, n in counts.items() if not op.startswith("ecr:")})
    for where, counts in comparison.recorded.items():
        if where != HUB:
            recorded.update({op: n for op, n in counts.items() if not op.startswith("ecr:")})
    lines = ["scan phase, every target (ECS, Lambda, Batch, App Runner, EKS):"]
    lines.append(f"{'':>4}{'source':<17}{'operation':<33}{'calls':>8}{'minimum':>9}")
    listed = {op for ops in IN_USE_SOURCES.values() for op in ops}
    sources = {**IN_USE_SOURCES, "other": tuple(sorted(set(recorded) - listed))}
    for source, operations in sources.items():
        for number, operation in enumerate(operations):
            lines.append(
                f"{'':>4}{source if number == 0 else '':<17}{operation:<33}"
                f"{recorded[operation]:>8,}{model[operation]:>9,}"
            )
    total = sum(recorded.values())
    span = _span(scans) if scans else 0.0
    lines.append(
        f"{'':>4}{total:,} calls (minimum {sum(model.values()):,}) in {len(scans)} scans; the "
        f"phase took {span:.1f} s (first scan started to last ended)"
    )
    return lines


def _keep_lines(observed: Observed) -> list[str]:
    scans = observed.scans
    elsewhere = scans.get("references_elsewhere", 0)
    lines = [
        f"keep-sets: {scans.get('references', 0):,} references ({elsewhere:,} "
        f"to registries that are not targets), {scans.get('pinned_digests', 0):,} pinned digests, "
        f"{scans.get('targets_failed', 0)} failed scans"
    ]
    for key, size in sorted(observed.objects.items()):
        if "/keep/" in key or key.endswith(
            ("scans.json", "targets.json", "items.json", "summary.json")
        ):
            lines.append(f"{'':>4}{key.partition('/')[2].partition('/')[2]:<40}{size:>12,} bytes")
    scan_bytes = [size for key, size in observed.objects.items() if "/scans/" in key]
    if scan_bytes:
        lines.append(
            f"{'':>4}{'scans/<index>.json':<40}{max(scan_bytes):>12,} bytes at most, "
            f"{sum(scan_bytes):,} in all"
        )
    return lines


def _account_lines(comparison: Comparison) -> list[str]:
    per_account: dict[str, tuple[Counter[str], Counter[str]]] = {}
    for (account, _region), counts in comparison.recorded.items():
        per_account.setdefault(account, (Counter(), Counter()))[0].update(counts)
    for (account, _region), counts in comparison.model.items():
        per_account.setdefault(account, (Counter(), Counter()))[1].update(counts)
    lines = ["calls per account, every region (minimum: tools.sizing's count):"]
    for account, (recorded, model) in sorted(per_account.items()):
        label = "hub" if account == HUB_ACCOUNT else "account"
        lines.append(f"{'':>4}{label} {account}: {sum(recorded.values()):,} calls")
        for operation in sorted(recorded.keys() | model.keys()):
            lines.append(
                f"{'':>8}{operation:<36}{recorded[operation]:>8,} (minimum {model[operation]:,})"
            )
    return lines


def run(*, latency_ms: float, quick: bool, hub: LocalEcr | None = None) -> list[str]:
    """The full (or quick) benchmark: synthesize, seed, execute once, print the figures;
    returns the lines it printed. ``hub``: a running double of HUB_ACCOUNT (else its own)."""
    from tools.local_ecr import LocalEcr  # noqa: PLC0415

    layout = QUICK if quick else FULL
    started = time.perf_counter()
    template = synthesize(layout.context())
    print(f"synth {time.perf_counter() - started:.1f} s")
    with contextlib.ExitStack() as stack:
        double = hub or stack.enter_context(LocalEcr(region=HUB_REGION, account_id=HUB_ACCOUNT))
        started = time.perf_counter()
        observed = execute(double, template, layout, in_subprocess=True, latency_ms=latency_ms)
        print(f"seeded, executed and collected in {time.perf_counter() - started:.1f} s")
    lines = report(observed, compare(observed, latency_ms), latency_ms)
    held = memory_per_unit()
    lines.append(
        f"held per unit by the one-off invocations (tracemalloc): Plan {held['plan']:,.0f} B "
        f"an item, Merge keep-sets {held['keep']:,.0f} B a pinned digest, Summarize "
        f"{held['summary']:,.0f} B a repository (tools.sizing: {sizing.PLAN_BYTES_PER_ITEM:,}, "
        f"{sizing.KEEP_BYTES_PER_PIN:,}, {sizing.SUMMARY_BYTES_PER_REPOSITORY:,})"
    )
    for line in lines:
        print(line)
    return lines


def simulate(*, latency_ms: float, layout: Layout = SIMULATE) -> Comparison:
    """``--simulate``: ``layout`` on the double, the handlers in process; the model's counts
    beside the run's."""
    from tools.local_ecr import LocalEcr  # noqa: PLC0415

    started = time.perf_counter()
    template = synthesize(layout.context())
    print(f"== {layout.name}; synth {time.perf_counter() - started:.1f} s")
    with LocalEcr(region=HUB_REGION, account_id=HUB_ACCOUNT) as hub:
        started = time.perf_counter()
        observed = execute(hub, template, layout, in_subprocess=False, latency_ms=latency_ms)
        print(
            f"execution {observed.execution['status']} in {observed.wall:.1f} s "
            f"({time.perf_counter() - started:.1f} s with seeding)"
        )
    comparison = compare(observed, latency_ms)
    for line in comparison_lines(comparison):
        print(line)
    return comparison


# --- what the one-off invocations hold -----------------------------------------------------


def memory_per_unit() -> dict[str, float]:
    """Bytes each one-off invocation holds per unit of work, by tracemalloc, on the handlers'
    own code with synthetic inputs (the marginal cost between n units and 2n):
    Plan per item (the items and items.json), Merge keep-sets per pinned digest, Summarize
    per repository (its result read back, its entry, summary.json). tools.sizing's
    PLAN_BYTES_PER_ITEM, KEEP_BYTES_PER_PIN and SUMMARY_BYTES_PER_REPOSITORY come from here."""
    _lambda_on_path()
    return {
        "plan": _marginal(_plan_items, 500),
        "keep": _marginal(_keep_pins, 20_000),
        "summary": _marginal(_summary_repositories, 10_000),
    }


def _marginal(build: Any, units: int) -> float:
    """(peak bytes at 2n - peak bytes at n) / n, after a first small run (the imports)."""
    import tracemalloc  # noqa: PLC0415

    build(1)
    peaks = []
    for n in (units, 2 * units):
        tracemalloc.start()
        build(n)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return (peaks[1] - peaks[0]) / units


def _plan_items(items: int) -> None:
    """``items`` items as the plan builds them (each target's names its own strings)."""
    from ecr_cleanup.hub.plan import chunks  # noqa: PLC0415

    built: list[dict[str, Any]] = []
    per = sizing.REPOSITORIES_PER_ITEM
    for target in range(items):
        names = [f"team-{target:05d}/service-{n:03d}" for n in range(per)]
        built.extend(
            {
                "target": {"account": f"{100_000_000_000 + target}", "region": "eu-west-1"},
                "repositories": chunk,
                "dry_run": False,
            }
            for chunk in chunks(names, per)
        )
    indexed = [{"run": "r", "index": i, **item} for i, item in enumerate(built)]
    json.dumps(indexed).encode()


def _keep_pins(pins: int) -> None:
    """``pins`` digests of one target's workloads merged into its registry's keep-set."""
    import hashlib  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    from ecr_cleanup.hub.keep import merge  # noqa: PLC0415

    target = {"run": "r", "index": 0, "target": {"account": REGISTRY, "region": "eu-west-1"}}
    digests: dict[str, list[str]] = {}
    for k in range(pins):
        digest = "sha256:" + hashlib.sha256(str(k).encode()).hexdigest()
        digests.setdefault(f"team-{k % 300:03d}", []).append(digest)
    scan = {**target, "pins": {f"{REGISTRY}/eu-west-1": digests}, "held": [], "error": None}
    merged = merge([target], iter([scan]), SimpleNamespace(target_organizational_units=()))  # type: ignore[arg-type]
    assert merged.references == pins


def _summary_repositories(repositories: int) -> None:
    """Results of ``repositories`` repositories read back, summarized and written."""
    from ecr_cleanup.decide import Reason  # noqa: PLC0415
    from ecr_cleanup.hub.summary import fit, summarize  # noqa: PLC0415
    from ecr_cleanup.report import RepositoryReport, RunReport  # noqa: PLC0415

    per = sizing.REPOSITORIES_PER_ITEM
    outcomes = []
    for index in range(math.ceil(repositories / per)):
        report = RunReport(
            dry_run=False,
            repositories=[
                RepositoryReport(
                    f"team-{index:05d}/service-{n:03d}",
                    untagged=200,
                    deleted=198,
                    bytes_reclaimed=198 * 10**7,
                    kept=Counter({Reason.IN_USE: 2}),
                    complete=True,
                )
                for n in range(per)
            ],
        )
        result = report.as_dict()
        result["absent"] = []
        result["totals"]["repositories_absent"] = 0
        target = {"account": f"{100_000_000_000 + index // 100}", "region": "eu-west-1"}
        stored = json.loads(json.dumps({"target": target, "result": result}))
        outcomes.append({"index": index, **stored})
    summary = summarize("r", False, outcomes)
    fit(summary, ("repositories", "targets"))
    json.dumps(summary).encode()
