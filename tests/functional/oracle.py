"""The oracle for tests/functional/test_oracle.py: a registry plan, its builder, and the rules.

A `Plan` is plain data (what hypothesis generates): pushes, tag moves, archive and restore
steps, and workloads naming images in every reference form. `build` applies it to the
local ECR double step by step and keeps its own `Model` of what it did (tags after every
move, children, subjects, push, pull and restore times, statuses, what each workload pins).

`expected` is written from the README's keep table and issue 16's rules, not from
``ecr_cleanup.decide``: an untagged image stays when it is in use by a workload of this
account and region, too new (counted from the later of its push and its last restore),
recently pulled, restoring (ACTIVATING) or archived (IMAGE_STATUS ACTIVE); an index that
stays keeps its children and a subject that stays keeps its referrers, transitively.
Everything else untagged must go.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tools.local_ecr import Faults, ImageState, LocalEcr

ACCOUNT = "123456789012"
REGION = "us-east-1"
OTHER_ACCOUNT = "210987654321"
OTHER_REGION = "us-west-2"
REPOS = ("svc-a", "team/api.v2_x-1")
CLUSTER = "oracle"
MARGIN = timedelta(minutes=10)
"""How far from a limit an "inside" or "outside" time is: a run takes seconds."""
OLD_AGE = timedelta(days=30)
LATE_TAG = "late-tag"
"""The tag a late tagging adds: used by nothing else, so it moves no other image's tag."""

Age = Literal["old", "outside", "inside", "fresh"]
Pull = Literal["none", "outside", "inside"]
Status = Literal["archived", "activating", "restored_inside", "restored_outside"]
Host = Literal["ipv4", "dualstack", "fips"]
Case = Literal["lower", "upper", "mixed"]
Owner = Literal["here", "other_account", "other_region", "china", "tag_only"]


# --- the plan: what hypothesis generates -----------------------------------------------------


@dataclass(frozen=True)
class Push:
    """A push. ``picks`` choose existing images of the repository: an index's children
    (``index``) or a referrer's subject (``referrer``; no image yet, or a negative pick:
    a subject that is not in the registry)."""

    repo: int
    kind: Literal["image", "multiarch", "index", "referrer"]
    tag: str | None = None
    age: Age = "old"
    pulled: Pull = "none"
    picks: tuple[int, ...] = ()
    oci: bool = True


@dataclass(frozen=True)
class Retag:
    """Tag an existing image (the tag moves from wherever it was)."""

    repo: int
    pick: int
    tag: str


@dataclass(frozen=True)
class SetStatus:
    """Archive an image, or start a restore, or finish one at a chosen time.

    Archived and ACTIVATING apply to single manifests only (what ECR answers for an
    archived index's manifest is point 6 of the issue, owned elsewhere); a finished
    restore applies to any image.
    """

    repo: int
    pick: int
    status: Status


@dataclass(frozen=True)
class TaskDefinition:
    """Register a task definition family whose container names the picked image."""

    repo: int
    pick: int
    host: Host = "ipv4"
    case: Case = "lower"
    with_tag: bool = False
    owner: Owner = "here"
    active: bool = True


@dataclass(frozen=True)
class Service:
    """Deploy a service on the picked image, by its tag (when it has one) or digest."""

    repo: int
    pick: int
    by_tag: bool = True
    desired: int = 0


@dataclass(frozen=True)
class RunTask:
    """Run an ECS task on the picked image; ``deregister``: its task definition then goes
    INACTIVE, so only the running task pins the digest."""

    repo: int
    pick: int
    deregister: bool = False


@dataclass(frozen=True)
class Function:
    """Deploy (or update) container-image Lambda function ``fn`` on the picked image."""

    repo: int
    pick: int
    fn: int = 0
    publish: bool = False


Step = Push | Retag | SetStatus | TaskDefinition | Service | RunTask | Function


@dataclass(frozen=True)
class Late:
    """Tag the picked image during the real run: right after a listing shows it (the
    double's ``tag_after_list``) or when the in-use lookups start (after the whole scan)."""

    repo: int
    pick: int
    when: Literal["after_list", "during_lookup"]


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    min_age_hours: float = 24
    pulled_days: int = 7
    late: Late | None = None


# --- the model: what the builder did ----------------------------------------------------------


@dataclass
class Img:
    repo: str
    digest: str
    pushed_at: datetime
    tags: set[str] = field(default_factory=set)
    children: tuple[str, ...] = ()
    subject: str | None = None
    pulled_at: datetime | None = None
    activated_at: datetime | None = None
    status: str = "ACTIVE"

    @property
    def is_index(self) -> bool:
        return bool(self.children)


@dataclass
class Model:
    now: datetime
    min_age: timedelta
    pulled_within: timedelta
    images: dict[tuple[str, str], Img] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)  # push order per repository
    pins: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # -> what pins it
    ignored: list[str] = field(default_factory=list)  # workloads that must pin nothing here
    functions: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)

    def pool(self, repo: str, *, single: bool = False) -> list[str]:
        digests = self.order.get(repo, [])
        if single:
            return [d for d in digests if not self.images[(repo, d)].is_index]
        return list(digests)

    def pick(
        self, repo: str, pick: int, *, single: bool = False, prefer: bool | None = False
    ) -> str | None:
        """The ``pick``-th image (modulo) of the repository.

        A workload or a restore on an image that stays anyway shows nothing, so the plans
        lean to the images a hole could lose: with ``prefer`` False, among the bare ones
        (untagged, ACTIVE, old, not pulled lately) if any, else the untagged ones; with
        True, among the tagged ones (a deployment by tag); None: any image.
        """
        pool = self.pool(repo, single=single)
        if prefer is not None:
            chosen = [d for d in pool if bool(self.images[(repo, d)].tags) == prefer]
            if not prefer:
                chosen = [d for d in chosen if self.bare(self.images[(repo, d)])] or chosen
            pool = chosen or pool
        return pool[pick % len(pool)] if pool else None

    def bare(self, image: Img) -> bool:
        """Nothing of its own keeps it (its workloads aside): untagged, ACTIVE, old."""
        since = max(image.pushed_at, image.activated_at or image.pushed_at)
        pulled = image.pulled_at is not None and self.now - image.pulled_at < self.pulled_within
        return (
            not image.tags
            and image.status == "ACTIVE"
            and self.now - since >= self.min_age
            and not pulled
        )

    def add_tag(self, repo: str, digest: str, tag: str) -> None:
        for image in self.images.values():
            if image.repo == repo:
                image.tags.discard(tag)
        self.images[(repo, digest)].tags.add(tag)

    def pin(self, repo: str, digest: str, why: str) -> None:
        self.pins.setdefault((repo, digest), []).append(why)


# --- building it in the double ---------------------------------------------------------------


def reference(
    repo: str,
    digest: str,
    *,
    host: Host = "ipv4",
    case: Case = "lower",
    tag: str | None = None,
    owner: Owner = "here",
) -> str:
    """An image reference as a workload writes it (the forms of ecr-semantics.md)."""
    account = OTHER_ACCOUNT if owner == "other_account" else ACCOUNT
    region = OTHER_REGION if owner == "other_region" else REGION
    if owner == "china":
        name = f"{account}.dkr.ecr.cn-north-1.amazonaws.com.cn"
    elif host == "dualstack":
        name = f"{account}.dkr-ecr.{region}.on.aws"
    elif host == "fips":
        name = f"{account}.dkr.ecr-fips.{region}.amazonaws.com"
    else:
        name = f"{account}.dkr.ecr.{region}.amazonaws.com"
    if case == "upper":
        name = name.upper()
    elif case == "mixed":
        name = "".join(c.upper() if i % 2 else c for i, c in enumerate(name))
    if owner == "tag_only":
        return f"{name}/{repo}:{tag or 'latest'}"
    return f"{name}/{repo}{f':{tag}' if tag else ''}@{digest}"


class Builder:
    """Applies a plan's steps to the double and records them in a `Model`."""

    def __init__(self, ecr: LocalEcr, plan: Plan, now: datetime) -> None:
        self.ecr = ecr
        self.plan = plan
        self.model = Model(
            now=now,
            min_age=timedelta(hours=plan.min_age_hours),
            pulled_within=timedelta(days=plan.pulled_days),
        )
        self._ids = itertools.count()
        self._ecs: Any = None

    def build(self) -> Model:
        for repo in REPOS:
            self.ecr.create_repository(repo)
            self.model.order[repo] = []
        for step in self.plan.steps:
            self.apply(step)
        return self.model

    def ecs(self) -> Any:
        if self._ecs is None:
            self._ecs = self.ecr.client("ecs")
        return self._ecs

    # -- times --

    def pushed_at(self, age: Age) -> datetime:
        now, limit = self.model.now, self.model.min_age
        return {
            "old": now - OLD_AGE,
            "outside": now - limit - MARGIN,
            "inside": now - limit + MARGIN,
            "fresh": now - timedelta(minutes=1),
        }[age]

    def pulled_at(self, pulled: Pull) -> datetime | None:
        now, limit = self.model.now, self.model.pulled_within
        if pulled == "none":
            return None
        return now - limit - MARGIN if pulled == "outside" else now - limit + MARGIN

    # -- steps --

    def apply(self, step: Step) -> None:
        repo = REPOS[step.repo % len(REPOS)]
        if isinstance(step, Push):
            self.push(repo, step)
        elif isinstance(step, Retag):
            digest = self.model.pick(repo, step.pick, prefer=None)
            if digest is not None:
                self.ecr.tag(repo, digest, step.tag)
                self.model.add_tag(repo, digest, step.tag)
        elif isinstance(step, SetStatus):
            self.set_status(repo, step)
        elif isinstance(step, TaskDefinition):
            self.task_definition(repo, step)
        elif isinstance(step, Service):
            self.service(repo, step)
        elif isinstance(step, RunTask):
            self.run_task(repo, step)
        else:
            self.function(repo, step)

    def record(self, repo: str, digest: str, **fields: Any) -> Img:
        tags = fields.pop("tag", None)
        image = Img(repo=repo, digest=digest, **fields)
        self.model.images[(repo, digest)] = image
        self.model.order[repo].append(digest)
        if tags:
            self.model.add_tag(repo, digest, tags)
        return image

    def push(self, repo: str, step: Push) -> None:
        when = self.pushed_at(step.age)
        pulled = self.pulled_at(step.pulled)
        times: dict[str, Any] = {"pushed_at": when, "last_pulled_at": pulled}
        pool = self.model.pool(repo)
        kind = step.kind if pool or step.kind in ("image", "multiarch") else "image"
        if kind == "referrer" and (not step.picks or step.picks[0] >= 0):
            subject = pool[(step.picks[0] if step.picks else 0) % len(pool)]
            digest = self.ecr.push_referrer(repo, subject, **times)
            self.record(repo, digest, pushed_at=when, pulled_at=pulled, subject=subject)
        elif kind == "referrer":
            gone = "sha256:" + hashlib.sha256(f"gone {repo} {next(self._ids)}".encode()).hexdigest()
            digest = self.ecr.push_referrer(repo, gone, **times)
            self.record(repo, digest, pushed_at=when, pulled_at=pulled, subject=gone)
        elif kind == "index":
            children = tuple(dict.fromkeys(pool[p % len(pool)] for p in step.picks or (0,)))
            digest = self.ecr.push_nested_index(
                repo, step.tag, list(children), oci=step.oci, **times
            )
            self.record(
                repo, digest, pushed_at=when, pulled_at=pulled, children=children, tag=step.tag
            )
        elif kind == "multiarch":
            pushed = self.ecr.push_multiarch(repo, step.tag, oci=step.oci, **times)
            for child in (*pushed.platform_children, *pushed.attestations):
                self.record(repo, child, pushed_at=when, pulled_at=pulled)
            children = (*pushed.platform_children, *pushed.attestations)
            self.record(
                repo,
                pushed.index,
                pushed_at=when,
                pulled_at=pulled,
                children=children,
                tag=step.tag,
            )
        else:
            digest = self.ecr.push_image(repo, step.tag, oci=step.oci, **times)
            self.record(repo, digest, pushed_at=when, pulled_at=pulled, tag=step.tag)

    def set_status(self, repo: str, step: SetStatus) -> None:
        single = step.status in ("archived", "activating")
        digest = self.model.pick(repo, step.pick, single=single)
        if digest is None:
            return
        image = self.model.images[(repo, digest)]
        if image.status != "ACTIVE":
            return  # once per image: its state stays what the first step made it
        self.ecr.archive(repo, digest)
        image.status = "ARCHIVED"
        if step.status == "activating":
            self.ecr.start_restore(repo, digest)
            image.status = "ACTIVATING"
        elif step.status.startswith("restored"):
            self.ecr.restore(repo, digest)
            now, limit = self.model.now, self.model.min_age
            when = now - limit + (MARGIN if step.status == "restored_inside" else -MARGIN)
            self.ecr.restore(repo, digest, at=when)
            image.status, image.activated_at = "ACTIVE", when

    def task_definition(self, repo: str, step: TaskDefinition) -> None:
        digest = self.model.pick(repo, step.pick)
        if digest is None:
            return
        image = self.model.images[(repo, digest)]
        tag = (
            sorted(image.tags)[0]
            if image.tags and step.with_tag
            else ("v1.4" if step.with_tag else None)
        )
        uri = reference(repo, digest, host=step.host, case=step.case, tag=tag, owner=step.owner)
        family = f"td-{next(self._ids)}"
        arn = self.ecr.register_task_definition(family, uri)
        what = f"task definition {'ACTIVE' if step.active else 'INACTIVE'} {uri}"
        if not step.active:
            self.ecs().deregister_task_definition(taskDefinition=arn)
        if step.active and step.owner == "here":
            self.model.pin(repo, digest, what)
        else:
            self.model.ignored.append(what)

    def service(self, repo: str, step: Service) -> None:
        digest = self.model.pick(repo, step.pick, prefer=step.by_tag)
        if digest is None:
            return
        tags = sorted(self.model.images[(repo, digest)].tags)
        reference_ = tags[0] if step.by_tag and tags else digest
        name = f"s{next(self._ids)}"
        self.ecr.create_service(CLUSTER, name, repo, reference_, desired_count=step.desired)
        self.model.pin(repo, digest, f"service {name} on {repo}:{reference_}")

    def run_task(self, repo: str, step: RunTask) -> None:
        digest = self.model.pick(repo, step.pick)
        if digest is None:
            return
        task = self.ecr.run_ecs_task(CLUSTER, repo, digest)
        if step.deregister:  # the helper's family: <repo with - for />-<12 hex>
            family = f"{repo.replace('/', '-')}-{digest.removeprefix('sha256:')[:12]}"
            ecs = self.ecs()
            for arn in ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]:
                ecs.deregister_task_definition(taskDefinition=arn)
        what = "running task" + (" (task definition INACTIVE)" if step.deregister else "")
        self.model.pin(repo, digest, f"{what} {task.rpartition('/')[2]}")

    def function(self, repo: str, step: Function) -> None:
        digest = self.model.pick(repo, step.pick)
        if digest is None:
            return
        name = f"fn{step.fn}-{repo.replace('/', '-').replace('.', '-')}"
        self.ecr.create_image_function(name, repo, digest, publish=step.publish)
        deployments = self.model.functions.setdefault(name, [])
        deployments.append((repo, digest, step.publish))
        # $LATEST runs the last deployment; every published version keeps its own digest.
        *earlier, last = deployments
        self.model.pin(last[0], last[1], f"lambda {name} $LATEST")
        for number, (was_repo, was, published) in enumerate(earlier):
            if published:
                self.model.pin(was_repo, was, f"lambda {name} published deployment {number}")


def build(ecr: LocalEcr, plan: Plan, now: datetime | None = None) -> Model:
    model = Builder(ecr, plan, now or datetime.now(UTC)).build()
    check_model(ecr, model)
    return model


def check_model(ecr: LocalEcr, model: Model) -> None:
    """The builder's model and the double agree (else the oracle would judge a wrong registry)."""
    for repo in REPOS:
        held = ecr.images(repo)
        mine = {d: i for (r, d), i in model.images.items() if r == repo}
        assert set(held) == set(mine), f"{repo}: model and double disagree on the digests"
        for digest, state in held.items():
            image = mine[digest]
            assert set(state.tags) == image.tags, f"{digest}: tags {state.tags} != {image.tags}"
            assert set(state.children) == set(image.children), f"{digest}: children differ"
            assert state.subject == image.subject, f"{digest}: subject differs"
            assert state.status == image.status, f"{digest}: status differs"


# --- the oracle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    keep: dict[tuple[str, str], str]  # image -> why it must stay
    doomed: set[tuple[str, str]]  # untagged images nothing needs


def expected(model: Model, *, image_status: str = "ACTIVE") -> Expected:
    """What must stay and what must go, from the README's keep table and issue 16."""
    keep: dict[tuple[str, str], str] = {}
    for key, image in model.images.items():
        why = root_reason(model, image, image_status=image_status)
        if why is not None:
            keep[key] = why
    referrers: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, image in model.images.items():
        if image.subject is not None:
            referrers.setdefault((image.repo, image.subject), []).append(key)
    pending = list(keep)
    while pending:  # index -> child, subject -> referrer, transitively
        key = pending.pop()
        repo, digest = key
        needed = [
            *(
                ((repo, child), f"index_child of {digest[:19]}")
                for child in model.images[key].children
            ),
            *((referrer, f"referrer of {digest[:19]}") for referrer in referrers.get(key, ())),
        ]
        for other, why in needed:
            if other in model.images and other not in keep:
                keep[other] = why
                pending.append(other)
    doomed = {key for key in model.images if key not in keep}
    return Expected(keep=keep, doomed=doomed)


def root_reason(model: Model, image: Img, *, image_status: str) -> str | None:
    """The keep-table row that keeps this image by itself, if any."""
    now = model.now
    if image.tags:
        return f"tagged {sorted(image.tags)}"
    if image.status == "ACTIVATING":
        return "restoring"
    if image.status == "ARCHIVED" and image_status == "ACTIVE":
        return "archived (IMAGE_STATUS ACTIVE)"
    pins = model.pins.get((image.repo, image.digest))
    if pins:
        return f"in_use: {pins[0]}"
    since = max(image.pushed_at, image.activated_at or image.pushed_at)
    if now - since < model.min_age:
        restored = image.activated_at is not None and image.activated_at > image.pushed_at
        return "too_new" + (" (restored from the archive)" if restored else "")
    if image.pulled_at is not None and now - image.pulled_at < model.pulled_within:
        return "recently_pulled"
    return None


# --- late tags: a tag arriving while the real run is under way -------------------------------


@dataclass
class TagWhenLookupsStart(Faults):
    """Faults that run ``action`` once, when the first in-use lookup call (ECS ListClusters
    or Lambda ListFunctions) arrives: after the whole scan, before any delete."""

    action: Callable[[], None] | None = None
    triggers: frozenset[str] = frozenset({"ListClusters", "ListFunctions"})
    fired: bool = False
    _once: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def applies_to(self, service: str) -> bool:
        return True  # see every call (no fault rate is set: nothing else happens)

    def draw(self, operation: str, region: str = "", account: str = "") -> Any:
        if operation in self.triggers and self.action is not None:
            with self._once:
                fire, self.fired = not self.fired, True
            if fire:
                self.action()
        return super().draw(operation, region, account)


def late_target(model: Model, late: Late | None) -> tuple[str, str] | None:
    if late is None:
        return None
    repo = REPOS[late.repo % len(REPOS)]
    digest = model.pick(repo, late.pick)  # an untagged one, when there is one
    return (repo, digest) if digest is not None else None


# --- reading the outcome ---------------------------------------------------------------------


def held(ecr: LocalEcr) -> dict[tuple[str, str], ImageState]:
    return {(repo, d): state for repo in REPOS for d, state in ecr.images(repo).items()}


def incomplete_indexes(after: Mapping[tuple[str, str], ImageState]) -> list[str]:
    """Tagged indexes that lost a child, nested ones included."""
    broken = []
    for (repo, digest), state in after.items():
        if not state.tags or not state.children:
            continue
        pending = list(state.children)
        while pending:
            child = pending.pop()
            if (repo, child) not in after:
                broken.append(f"{repo} {digest[:19]} {state.tags} lost {child[:19]}")
                break
            pending.extend(after[(repo, child)].children)
    return broken


def describe(keys: Iterable[tuple[str, str]], why: Mapping[tuple[str, str], str]) -> list[str]:
    return [f"  {repo} {digest[:19]}: {why.get((repo, digest), '')}" for repo, digest in keys]
