"""``python -m tools.sizing``: what one night of the organization shape costs, from its shape.

A model in plain Python, with no AWS and no double: from the accounts, regions and each
target's repositories and workloads it counts what one real run (not a dry run) does: the
child executions of each Distributed Map, the state transitions (walked on the state
machine's definition), the Lambda invocations per function, every ECR, ECS, Lambda, Batch,
App Runner, EKS and STS call and every S3 request. Those counts are exact for registries of
plain untagged images (old, never pulled, no index): ``python -m tools.benchmark
--organization --simulate`` and tests/org/test_sizing.py compare them, per operation and
per account and region, with what the local double records. Durations, GB-seconds, wall
time and cost are estimates built on those counts and a per-call latency.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import typer

from tools.benchmark import Workloads, in_use_images, minimum_in_use_calls

# Public list prices (us-east-1) as the issue gives them, recorded on 2026-12-03: check
# https://aws.amazon.com/step-functions/pricing/, /lambda/pricing/ and /s3/pricing/ before
# quoting. ECR, ECS, Lambda control-plane, Batch, App Runner, EKS and STS calls cost
# nothing.
PRICE_PER_TRANSITION = 0.025 / 1000  # Step Functions, STANDARD workflows
PRICE_PER_GB_SECOND = 0.0000133334  # Lambda, arm64
PRICE_PER_INVOCATION = 0.20 / 1_000_000  # Lambda requests
PRICE_PER_PUT = 0.005 / 1000  # S3 Standard PUT, COPY, POST, LIST
PRICE_PER_GET = 0.0004 / 1000  # S3 Standard GET, SELECT

# The deployment's defaults, as infra/ and lambda/ set them (tests/unit/test_sizing.py
# checks that they agree).
MEMORY_MB = 256
MAX_WORKERS = 4
REPOSITORIES_PER_ITEM = 50
MAX_CONCURRENCY = 20
KEEP_READERS = 32  # the keep-set step's concurrent GetObject
LAMBDA_TIMEOUT_S = 15 * 60
EXECUTION_TIMEOUT_S = 12 * 3600
# ECR's limits as the cleanup meets them.
PAGE = 1000  # ListImages, DescribeImages (filter), DescribeRepositories (listing)
BATCH = 100  # DescribeImages (ids), BatchDeleteImage, DescribeRepositories (names)
# What an invocation spends before its first call (a cold start, README "Cold start"):
# counted for every invocation, which overstates warm ones.
COLD_START_S = 0.6
# What the three one-off invocations hold per unit of work, measured with tracemalloc on
# the handlers' own code (`python -m tools.benchmark --organization` prints it; 2026-12-03):
# the items and items.json (Plan), a pinned digest in the merged keep-sets (Merge
# keep-sets), a repository's result read back and its summary entry (Summarize); and their
# peak RSS with little to hold (the benchmark's figures, 2026-12-03). Checked directly: the
# summary's own work on 255,000 repositories' results peaked at 702 MiB RSS (this model: 692).
PLAN_BYTES_PER_ITEM = 8_200
KEEP_BYTES_PER_PIN = 370
SUMMARY_BYTES_PER_REPOSITORY = 2_600
BASE_RSS_MIB = {"plan": 118.0, "keep": 58.0, "summary": 60.0}

PLAN = "ecr_cleanup.hub.plan.handler"
SCAN = "ecr_cleanup.hub.scan.handler"
KEEP = "ecr_cleanup.hub.keep.handler"
CLEAN = "ecr_cleanup.hub.clean.handler"
SUMMARY = "ecr_cleanup.hub.summary.handler"
FUNCTIONS = {
    PLAN: "Plan",
    SCAN: "Scan",
    KEEP: "Merge keep-sets",
    CLEAN: "Clean",
    SUMMARY: "Summarize",
}
"""Handler -> the state that invokes it, in the order a run does."""


# --- the shape ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository of plain images: ``untagged`` old, never pulled, no index among them,
    ``pinned`` of those named by digest by some target's workloads; ``tagged`` one tag each."""

    untagged: int = 200
    tagged: int = 1
    pinned: int = 0

    @property
    def doomed(self) -> int:
        return self.untagged - self.pinned


@dataclass(frozen=True, slots=True)
class Target:
    """One account x region: its repositories in name order, (shape, how many) runs of
    them, and its workloads (None: nothing runs there). ``app_runner``: botocore lists an
    App Runner endpoint in the region (else the scan makes no App Runner call)."""

    repositories: tuple[tuple[Repository, int], ...] = ()
    workloads: Workloads | None = None
    app_runner: bool = True

    def each_repository(self) -> Iterator[Repository]:
        for shape, count in self.repositories:
            for _ in range(count):
                yield shape

    @property
    def repository_count(self) -> int:
        return sum(count for _, count in self.repositories)


@dataclass(frozen=True, slots=True)
class Account:
    """An account's targets, one per configured region."""

    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class Organization:
    """(account shape, how many accounts) runs, and the deployment's knobs."""

    accounts: tuple[tuple[Account, int], ...]
    repositories_per_item: int = REPOSITORIES_PER_ITEM
    max_workers: int = MAX_WORKERS

    def each_target(self) -> Iterator[tuple[Target, int]]:
        """Every distinct target with the number of targets like it."""
        for account, count in self.accounts:
            for target in account.targets:
                yield target, count

    @property
    def account_count(self) -> int:
        return sum(count for _, count in self.accounts)

    @property
    def target_count(self) -> int:
        return sum(count for _, count in self.each_target())


def spread(total: int, over: int) -> list[int]:
    """``total`` references dealt round-robin over ``over`` repositories (the first ones get
    one more): how the benchmark's workloads pick the digests they pin."""
    if over <= 0:
        return []
    share, extra = divmod(total, over)
    return [share + (index < extra) for index in range(over)]


def runs(values: Iterable[Repository]) -> tuple[tuple[Repository, int], ...]:
    """Consecutive equal shapes folded into (shape, count) runs."""
    folded: list[tuple[Repository, int]] = []
    for value in values:
        if folded and folded[-1][0] == value:
            folded[-1] = (value, folded[-1][1] + 1)
        else:
            folded.append((value, 1))
    return tuple(folded)


def references(workloads: Workloads | None) -> int:
    """The distinct digests a target's workloads name (each deployment, revision and
    version its own image, as the benchmark seeds them)."""
    return 0 if workloads is None else in_use_images(workloads)


def uniform(
    accounts: int,
    regions: int,
    *,
    repositories: int = 300,
    untagged: int = 200,
    workloads: Workloads | None = None,
    per_item: int = REPOSITORIES_PER_ITEM,
) -> Organization:
    """Every target alike: ``repositories`` x ``untagged``, its workloads pinning digests of
    its own registry, spread over its repositories."""
    pins = spread(min(references(workloads), repositories * untagged), repositories)
    target = Target(runs(Repository(untagged, 1, pinned) for pinned in pins), workloads=workloads)
    return Organization(((Account((target,) * regions), accounts),), repositories_per_item=per_item)


# --- the state machine ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transitions:
    """States entered: once per run at the top level, and per child of each map (a target
    or item without ``error``; a retry would add its own, counted as none here)."""

    parent: int
    scan_child: int
    clean_child: int


DEFINITION_TRANSITIONS = Transitions(parent=5, scan_child=3, clean_child=3)
"""What `count_transitions` finds in the synthesized definition (tests/infra/test_sizing.py):
Plan targets, Scan, Merge keep-sets, Clean, Summarize run; each child Choice, Task, Pass."""


def count_transitions(definition: Mapping[str, Any]) -> Transitions:
    """Walk the definition on a night where nothing fails: the top-level path, and each
    Distributed Map's processor for an element without ``error`` (Scan first, then Clean)."""
    path = _walk(definition["States"], definition["StartAt"])
    maps = [state for state in path if state["Type"] == "Map"]
    if len(maps) != 2:
        raise ValueError(f"expected two Map states (Scan, Clean), found {len(maps)}")
    scan, clean = (_walk(m["ItemProcessor"]["States"], m["ItemProcessor"]["StartAt"]) for m in maps)
    return Transitions(parent=len(path), scan_child=len(scan), clean_child=len(clean))


def _walk(states: Mapping[str, Any], start: str) -> list[Mapping[str, Any]]:
    path: list[Mapping[str, Any]] = []
    name: str | None = start
    while name is not None:
        state = states[name]
        path.append(state)
        if state["Type"] == "Choice":
            name = next(
                (c["Next"] for c in state.get("Choices", []) if _holds(c)), state.get("Default")
            )
        elif state.get("End") or state["Type"] in ("Succeed", "Fail"):
            name = None
        else:
            name = state["Next"]
    return path


def _holds(choice: Mapping[str, Any]) -> bool:
    """A Choice rule for an element without ``error``: only ``IsPresent`` on ``$.error``."""
    if choice.get("Variable") == "$.error" and "IsPresent" in choice:
        return not choice["IsPresent"]
    raise ValueError(f"cannot follow Choice rule {choice}")


def definition_of(template: Mapping[str, Any]) -> dict[str, Any]:
    """The state machine's definition from a synthesized template; each reference to another
    resource (a function's ARN) rendered as a placeholder string."""
    (machine,) = (
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    raw = machine["Properties"]["DefinitionString"]
    if isinstance(raw, dict) and "Fn::Join" in raw:
        separator, parts = raw["Fn::Join"]
        raw = separator.join(p if isinstance(p, str) else "resolved" for p in parts)
    definition: dict[str, Any] = json.loads(raw)
    return definition


# --- calls ------------------------------------------------------------------------------------


def _pages(count: int, size: int) -> int:
    """A listing is one call even when empty."""
    return max(1, math.ceil(count / size))


def _describes(untagged: int) -> int:
    """DescribeImages of the listed ids: each ListImages page of 1000 in batches of 100."""
    full, rest = divmod(untagged, PAGE)
    return full * (PAGE // BATCH) + math.ceil(rest / BATCH)


@cache
def repository_calls(repository: Repository) -> Counter[str]:
    """One repository's ECR calls in its clean item (IMAGE_STATUS ACTIVE, the defaults).

    The opt-out tag; DescribeImages of the tagged, the archived and the restoring images (a
    page each) and of the untagged ones, 100 ids a call; their ListImages pages. With
    anything untagged and old it has something to delete before the keep-set is applied, so
    it reads its policy (sharedRepositories=keep); what the keep-set leaves doomed is
    deleted in one wave, its tags listed once just before (one page of 1000 tags is fewer
    calls than a DescribeImages per delete batch as soon as there is a batch).
    """
    calls = Counter(
        {
            "ecr:ListTagsForResource": 1,
            "ecr:DescribeImages": _pages(repository.tagged, PAGE)
            + 2
            + _describes(repository.untagged),
            "ecr:ListImages": _pages(repository.untagged, PAGE),
        }
    )
    if repository.untagged:
        calls["ecr:GetRepositoryPolicy"] += 1
    if repository.doomed:
        batches = math.ceil(repository.doomed / BATCH)
        tag_pages = _pages(repository.tagged, PAGE)
        if tag_pages <= batches:
            calls["ecr:ListImages"] += tag_pages
        else:
            calls["ecr:DescribeImages"] += batches
        calls["ecr:BatchDeleteImage"] += batches
    return calls


def items_of(target: Target, per_item: int) -> list[list[Repository]]:
    """The target's work items: its repositories in name order, ``per_item`` each."""
    names = list(target.each_repository())
    return [names[i : i + per_item] for i in range(0, len(names), per_item)]


def item_calls(item: Sequence[Repository]) -> Counter[str]:
    """One clean item's calls in its target's account and region (the keep-set read and
    the result are the hub's): which of its names exist, the replication rules, and each
    repository's own."""
    calls: Counter[str] = Counter(
        {"ecr:DescribeRepositories": math.ceil(len(item) / BATCH), "ecr:DescribeRegistry": 1}
    )
    for repository in item:
        calls.update(repository_calls(repository))
    return calls


def reads_keep_set(item: Sequence[Repository]) -> bool:
    """An item reads its registry's keep-set once, when one of its repositories has
    something to delete before the keep-set is applied."""
    return any(repository.untagged for repository in item)


@cache
def scan_calls(target: Target) -> Counter[str]:
    """The scan's in-use calls in the target's account and region: every source listed
    (one call even when empty), then what the workloads need (`minimum_in_use_calls`)."""
    if target.workloads is None:
        calls = Counter(
            {
                "ecs:ListClusters": 1,
                "ecs:ListTaskDefinitionFamilies": 1,
                "lambda:ListFunctions": 1,
                "batch:DescribeJobDefinitions": 1,
                "batch:DescribeJobQueues": 1,
                "apprunner:ListServices": 1,
                "eks:ListClusters": 1,
            }
        )
    else:
        calls = Counter(minimum_in_use_calls(target.workloads))
    if not target.app_runner:
        for operation in [op for op in calls if op.startswith("apprunner:")]:
            del calls[operation]
    return +calls  # drop the zeros


@cache
def target_calls(target: Target, per_item: int) -> Counter[str]:
    """Every call made in the target's account and region: the plan's listing of its
    repositories (1000 a page), its scan, its clean items."""
    calls = Counter({"ecr:DescribeRepositories": _pages(target.repository_count, PAGE)})
    calls.update(scan_calls(target))
    for item in items_of(target, per_item):
        calls.update(item_calls(item))
    return calls


# --- durations ----------------------------------------------------------------------------


def _seconds(latency_s: float, calls: float) -> float:
    """An invocation's seconds: its cold start, then ``calls`` of ``latency_s`` one after
    another (work shared by n threads counts 1/n)."""
    return COLD_START_S + latency_s * calls


def scan_seconds(target: Target, latency_s: float, workers: int) -> float:
    """The scan: DescribeExecution, AssumeRole and its PUT one after another; the ECS
    listings on one thread (clusters, tasks, services, revisions, families) and Lambda's
    on another, their per-item calls on ``workers`` threads."""
    calls = scan_calls(target)
    pooled = sum(
        calls[op]
        for op in (
            "ecs:ListTaskDefinitions",
            "ecs:DescribeTaskDefinition",
            "lambda:GetFunction",
            "batch:ListJobs",
            "batch:DescribeJobs",
            "apprunner:DescribeService",
        )
    )
    ecs = (
        sum(n for op, n in calls.items() if op.startswith("ecs:"))
        - calls["ecs:ListTaskDefinitions"]
        - calls["ecs:DescribeTaskDefinition"]
    )
    lam = calls["lambda:ListFunctions"] + calls["lambda:ListVersionsByFunction"]
    eks = sum(n for op, n in calls.items() if op.startswith(("eks:", "k8s:")))
    return _seconds(latency_s, 3 + max(ecs, lam, eks, (ecs + pooled) / workers))


def clean_seconds(item: Sequence[Repository], latency_s: float, workers: int) -> float:
    """A clean item: DescribeExecution, AssumeRole, DescribeRepositories, DescribeRegistry,
    the keep-set and the result one after another; the repositories' calls on ``workers``."""
    calls = item_calls(item)
    per_repository = sum(calls.values()) - calls["ecr:DescribeRepositories"] - 1
    return _seconds(latency_s, 5 + reads_keep_set(item) + per_repository / workers)


# --- the prediction -------------------------------------------------------------------------


@dataclass
class Prediction:
    """What one run of ``organization`` does, and what it costs at ``latency_ms`` a call."""

    organization: Organization
    latency_ms: float
    transitions_per_state: Transitions
    children: dict[str, int] = field(default_factory=dict)  # "Scan", "Clean"
    invocations: Counter[str] = field(default_factory=Counter)  # handler -> invocations
    hub: Counter[str] = field(default_factory=Counter)  # calls made in the hub account
    targets: Counter[str] = field(default_factory=Counter)  # calls in every target, summed
    seconds: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # (s, how many)
    pins: int = 0  # pinned digests in every target registry's keep-set
    repositories: int = 0  # in every item

    @property
    def transitions(self) -> int:
        t = self.transitions_per_state
        return (
            t.parent + t.scan_child * self.children["Scan"] + t.clean_child * self.children["Clean"]
        )

    @property
    def calls(self) -> Counter[str]:
        return self.hub + self.targets

    def gb_seconds(self) -> float:
        return sum(s * n for runs_ in self.seconds.values() for s, n in runs_) * MEMORY_MB / 1024

    def longest(self, handler: str) -> float:
        return max(s for s, _ in self.seconds[handler])

    def phase(self, handler: str, concurrency: int) -> float:
        """A map's wall time: its children ``concurrency`` at a time, or its longest child."""
        total = sum(s * n for s, n in self.seconds[handler])
        return max(self.longest(handler), total / concurrency)

    def wall(self, concurrency: int) -> float:
        """One after another: Plan, the Scan map, the keep-set step, the Clean map, the
        summary (Step Functions' own latency between states not counted)."""
        return (
            self.longest(PLAN)
            + self.phase(SCAN, concurrency)
            + self.longest(KEEP)
            + self.phase(CLEAN, concurrency)
            + self.longest(SUMMARY)
        )

    def memory_mib(self, handler: str) -> float:
        """Estimated peak RSS of a one-off invocation: its base, plus what it holds."""
        if handler == PLAN:
            held = self.children["Clean"] * PLAN_BYTES_PER_ITEM
            return BASE_RSS_MIB["plan"] + held / 2**20
        if handler == KEEP:
            return BASE_RSS_MIB["keep"] + self.pins * KEEP_BYTES_PER_PIN / 2**20
        if handler == SUMMARY:
            held = self.repositories * SUMMARY_BYTES_PER_REPOSITORY
            return BASE_RSS_MIB["summary"] + held / 2**20
        raise ValueError(f"no memory estimate for {handler}")

    def cost(self) -> dict[str, float]:
        return {
            "Step Functions": self.transitions * PRICE_PER_TRANSITION,
            "Lambda": self.gb_seconds() * PRICE_PER_GB_SECOND
            + sum(self.invocations.values()) * PRICE_PER_INVOCATION,
            "S3": self.hub["s3:PutObject"] * PRICE_PER_PUT
            + self.hub["s3:GetObject"] * PRICE_PER_GET,
        }


def predict(
    organization: Organization,
    *,
    latency_ms: float = 20.0,
    transitions: Transitions = DEFINITION_TRANSITIONS,
) -> Prediction:
    """Count one real run of the organization shape (every target reachable, nothing fails)."""
    latency = latency_ms / 1000
    workers, per_item = organization.max_workers, organization.repositories_per_item
    prediction = Prediction(organization, latency_ms, transitions)
    accounts, targets = organization.account_count, organization.target_count
    items = reading = 0
    scans: list[tuple[float, int]] = []
    cleans: list[tuple[float, int]] = []
    for target, count in organization.each_target():
        prediction.targets.update(
            {op: n * count for op, n in target_calls(target, per_item).items()}
        )
        scans.append((scan_seconds(target, latency, workers), count))
        for item in items_of(target, per_item):
            items += count
            reading += count * reads_keep_set(item)
            cleans.append((clean_seconds(item, latency, workers), count))
    prediction.children = {"Scan": targets, "Clean": items}
    prediction.pins = sum(
        shape.pinned * n * count
        for target, count in organization.each_target()
        for shape, n in target.repositories
    )
    prediction.repositories = sum(
        t.repository_count * count for t, count in organization.each_target()
    )
    prediction.invocations = Counter({PLAN: 1, SCAN: targets, KEEP: 1, CLEAN: items, SUMMARY: 1})
    prediction.hub = Counter(
        {
            # The plan once per account (narrowed to listing), each scan, each clean item.
            "sts:AssumeRole": accounts + targets + items,
            # targets.json, items.json; the scans; a keep-set per target registry and
            # scans.json; the results; summary.json.
            "s3:PutObject": 2 + targets + targets + 1 + items + 1,
            # The two item readers; the keep-set step's targets.json and scans; the items'
            # keep-sets; the summary's items.json, results and scans.json.
            "s3:GetObject": 2 + 1 + targets + reading + 1 + items + 1,
            "lambda:Invoke": sum(prediction.invocations.values()),
        }
    )
    # Plan: per account AssumeRole then each region's listing, accounts `workers` at a time.
    chains = [
        (1 + sum(_pages(t.repository_count, PAGE) for t in account.targets), count)
        for account, count in organization.accounts
    ]
    work = sum(chain * count for chain, count in chains)
    longest = max(chain for chain, _ in chains)
    plan = _seconds(latency, 3 + max(longest, work / workers))
    # The keep-set step reads the scans KEEP_READERS at a time, writes max(workers, 4).
    keep = _seconds(latency, 3 + targets / KEEP_READERS + targets / max(workers, 4))
    # The summary reads the results `workers` at a time.
    summary = _seconds(latency, 4 + items / workers)
    prediction.seconds = {
        PLAN: [(plan, 1)],
        SCAN: scans,
        KEEP: [(keep, 1)],
        CLEAN: cleans or [(0.0, 0)],
        SUMMARY: [(summary, 1)],
    }
    return prediction


# --- the table --------------------------------------------------------------------------------

# The benchmark's workload target (tools/benchmark_org.py): 50 services on 5 clusters, 100
# task definition families (the services' own among them), 30 image functions x 2 versions.
WORKLOADS = Workloads(
    "per workload target",
    clusters=5,
    services=50,
    families=100,
    functions=30,
    versions=2,
    unused=0,
)


def _duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _flag(seconds: float, limit: float) -> str:
    return (
        f"{_duration_text(seconds)} (over {_duration_text(limit)})"
        if seconds > limit
        else (_duration_text(seconds))
    )


def _memory(mib: float) -> str:
    text = f"{mib:,.0f} MiB" if mib < 2048 else f"{mib / 1024:,.1f} GiB"
    return f"{text} (over {MEMORY_MB} MB)" if mib > MEMORY_MB else text


def table(predictions: Sequence[tuple[str, Prediction]]) -> str:
    """One night, per organization size: what the run does and what it costs."""
    header = [
        "organization",
        "Scan / Clean children",
        "state transitions",
        "Lambda invocations",
        "GB-s",
        "S3 PUT / GET",
        "cost of one night",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, p in predictions:
        cost = p.cost()
        cells = [
            label,
            f"{p.children['Scan']:,} / {p.children['Clean']:,}",
            f"{p.transitions:,}",
            f"{sum(p.invocations.values()):,}",
            f"{p.gb_seconds():,.0f}",
            f"{p.hub['s3:PutObject']:,} / {p.hub['s3:GetObject']:,}",
            f"${sum(cost.values()):,.2f} (Step Functions ${cost['Step Functions']:,.2f}, "
            f"Lambda ${cost['Lambda']:,.2f}, S3 ${cost['S3']:,.2f})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def limits_table(
    predictions: Sequence[tuple[str, Prediction]], concurrencies: Sequence[int]
) -> str:
    """Per organization size: the wall time against the execution's 12 hours, and each
    one-off invocation's time and estimated memory against Lambda's 15 minutes and 256 MB."""
    header = [
        "organization",
        *(f"wall at maxConcurrency {c}" for c in concurrencies),
        *(f"{FUNCTIONS[h]}: time, memory" for h in (PLAN, KEEP, SUMMARY)),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, p in predictions:
        cells = [
            label,
            *(_flag(p.wall(c), EXECUTION_TIMEOUT_S) for c in concurrencies),
            *(
                f"{_flag(p.longest(h), LAMBDA_TIMEOUT_S)}, {_memory(p.memory_mib(h))}"
                for h in (PLAN, KEEP, SUMMARY)
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_table(prediction: Prediction) -> str:
    """Calls per target (account x region) by service, for each distinct target shape."""
    per_item = prediction.organization.repositories_per_item
    lines = ["| calls per account-region | " + " | ".join(SERVICES.values()) + " |"]
    lines.append("|" + "---|" * (len(SERVICES) + 1))
    seen: set[Target] = set()
    for target, _ in prediction.organization.each_target():
        if target in seen:
            continue
        seen.add(target)
        calls = target_calls(target, per_item)
        by_service: Counter[str] = Counter()
        for op, n in calls.items():
            by_service[op.partition(":")[0]] += n
        label = f"{target.repository_count} repositories, " + (
            "no workloads" if target.workloads is None else "workloads"
        )
        lines.append(f"| {label} | " + " | ".join(f"{by_service[s]:,}" for s in SERVICES) + " |")
    return "\n".join(lines)


SERVICES = {
    "ecr": "ECR",
    "ecs": "ECS",
    "lambda": "Lambda",
    "batch": "Batch",
    "apprunner": "App Runner",
    "eks": "EKS",
}


def main(
    *,
    accounts: str = typer.Option(
        "50,500,5000", help="Organization sizes (accounts), comma-separated."
    ),
    regions: int = typer.Option(17, help="Regions per account."),
    repositories: int = typer.Option(300, help="Repositories per target."),
    untagged: int = typer.Option(200, help="Untagged images per repository, old and unused."),
    latency_ms: float = typer.Option(20.0, help="Seconds per call, as the benchmark injects."),
    concurrency: str = typer.Option("20,200", help="maxConcurrency values for the wall time."),
    per_item: int = typer.Option(REPOSITORIES_PER_ITEM, help="repositoriesPerItem."),
    workloads: bool = typer.Option(True, help="Every target runs the benchmark's workloads."),
) -> None:
    concurrencies = [int(c) for c in concurrency.split(",")]
    shape = WORKLOADS if workloads else None
    predictions = [
        (
            f"{int(n):,} accounts x {regions} regions x {repositories} repositories",
            predict(
                uniform(
                    int(n),
                    regions,
                    repositories=repositories,
                    untagged=untagged,
                    workloads=shape,
                    per_item=per_item,
                ),
                latency_ms=latency_ms,
            ),
        )
        for n in accounts.split(",")
    ]
    print(table(predictions))
    print()
    print(limits_table(predictions, concurrencies))
    print()
    print(target_table(predictions[0][1]))


if __name__ == "__main__":
    typer.run(main)
