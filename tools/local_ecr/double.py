"""`LocalEcr`: moto in server mode on 127.0.0.1, behind the fidelity middleware, plus fixtures.

Clients from `client()` talk HTTP to a local endpoint serving every moto service; ECR
answers with real ECR semantics (see `ecr_api`). Fixture helpers write straight into the
registry in-process, so seeding is fast and never shows up in `calls`.
"""

from __future__ import annotations

import binascii
import copy
import gc
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import boto3
from botocore.config import Config
from moto.core.base_backend import BackendDict
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import batch_apprunner, eks, manifests
from .ecs_workloads import make_legacy
from .faults import Faults
from .inuse import image_uri, make_pending
from .middleware import INTERNAL_HEADER, CallLog, FidelityMiddleware
from .registry import (
    ACTIVATING,
    ACTIVE,
    ARCHIVED,
    LOCK,
    Registry,
    RepoImages,
    StoredImage,
    aware,
    new_image,
    utcnow,
)
from .server import WsgiServer
from .wire import Call

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LAMBDA_ROLE = "local-ecr-lambda"


@dataclass(frozen=True, slots=True)
class ImageState:
    """An image as the registry holds it, for assertions (all statuses, all fields)."""

    tags: tuple[str, ...]
    media_type: str
    status: str
    pushed_at: datetime
    subject: str | None
    size: int
    artifact_media_type: str | None
    last_pulled_at: datetime | None
    children: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MultiArch:
    """What one `docker buildx --push` of several platforms leaves in the repository."""

    index: str
    platform_children: list[str]
    attestations: list[str]


class LocalEcr:
    """A local ECR (and ECS, Lambda, STS, ... via moto) that behaves like the real one.

    Use as a context manager or with `start()` / `stop()`. `reset()` empties every moto
    backend of this account (all regions), the image tables, the call log and the faults.
    Instances with different `account_id`s are isolated; instances sharing one share
    moto's state, as moto's backends are process-wide.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        faults: Faults | None = None,
    ) -> None:
        self._region = region
        self._account_id = account_id
        self.faults: Faults = faults if faults is not None else Faults()
        # Lambda's concurrent executions quota, as GetAccountSettings reports it.
        self.lambda_concurrency_quota = 1000
        self._calls = CallLog()
        self._registry = Registry(account_id, region)
        self._server: WsgiServer | None = None
        self._internal: dict[str, Any] = {}
        # One session: its loader caches service models, making clients cheap to create.
        self._session = boto3.session.Session()
        self._session_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        if self._server is None:
            app = FidelityMiddleware(
                DomainDispatcherApplication(create_backend_app),
                account_id=self._account_id,
                faults=lambda: self.faults,
                calls=self._calls,
                lambda_quota=lambda: self.lambda_concurrency_quota,
            )
            self._server = WsgiServer(app)
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._internal.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self, *, every_account: bool = False) -> None:
        """Forget everything: this account's moto state (images go with repos), calls, faults.

        `every_account` also empties every other account moto holds (the targets of `at`).
        """
        with LOCK:
            for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
                accounts = list(backend_dict) if every_account else [self._account_id]
                for account in accounts:
                    account_backends = backend_dict.get(account)
                    if account_backends is not None:
                        account_backends.reset()
            batch_apprunner.reset(None if every_account else {self._account_id})
            eks.reset(None if every_account else self._account_id)
        self._calls.clear()
        self.faults = Faults()
        self.lambda_concurrency_quota = 1000

    def at(self, account_id: str, region: str) -> LocalEcr:
        """The same double seen as another account's registry in another region.

        Its fixture helpers and inspection act on that account and region; the server, the
        call log and the faults stay this instance's (set faults here, not on the view).
        Clients from `client()` still sign as this (the default) account: a request reaches
        another account only with credentials of a role assumed there, as in AWS.
        """
        view = copy.copy(self)
        view._account_id = account_id
        view._region = region
        view._registry = Registry(account_id, region)
        view._internal = {}
        return view

    # --- endpoint and clients ------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalEcr is not started")
        return self._server.url

    @property
    def region(self) -> str:
        return self._region

    @property
    def account_id(self) -> str:
        return self._account_id

    def client(self, service: str, **config_kwargs: Any) -> Any:
        """A boto3 client for the local endpoint with fake credentials: never real AWS."""
        with self._session_lock:  # creating clients from one session is not thread-safe
            return self._session.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self._region,
                config=Config(**config_kwargs),
                **FAKE_CREDENTIALS,
            )

    def environment(self) -> dict[str, str]:
        """Environment variables that point an SDK-using process at the double."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
        }

    # --- call recording --------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request that reached the endpoint (all services), oldest first."""
        return self._calls.snapshot()

    def clear_calls(self) -> None:
        self._calls.clear()

    def count(self, operation: str, service: str | None = None) -> int:
        return sum(
            1
            for call in self._calls.snapshot()
            if call.operation == operation and (service is None or call.service == service)
        )

    # --- repositories ------------------------------------------------------------------

    def create_repository(self, name: str) -> None:
        with LOCK:
            self._registry.backend.create_repository(
                repository_name=name,
                registry_id=None,
                encryption_config=None,
                image_scan_config=None,
                image_tag_mutability=None,
                tags=[],
            )

    def delete_repository(self, name: str) -> None:
        """Delete a repository and its images (like DeleteRepository with force)."""
        with LOCK:
            self._registry.backend.delete_repository(name, force=True)

    def bulk_repositories(self, prefix: str, count: int) -> list[str]:
        """Create `count` repositories named `<prefix>00000`, `<prefix>00001`, ..."""
        names = [f"{prefix}{index:05d}" for index in range(count)]
        for name in names:
            self.create_repository(name)
        return names

    # --- pushing -----------------------------------------------------------------------

    def put_manifest(
        self,
        repo: str,
        manifest: bytes | dict[str, Any],
        media_type: str,
        tag: str | None = None,
        *,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        status: str = ACTIVE,
        size: int | None = None,
    ) -> str:
        """Push exact manifest bytes (a dict becomes compact JSON); returns their digest.

        A tag that is already on another image moves here, leaving that image untagged.
        Pushing a manifest that is already there only moves the tag (other fields stay).
        """
        image = new_image(
            manifests.encode(manifest),
            media_type,
            pushed_at=pushed_at,
            status=status,
            last_pulled_at=last_pulled_at,
            size=size,
        )
        with LOCK:
            return self._registry.put(repo, image, tag, strict=False).digest

    def push_image(
        self,
        repo: str,
        tag: str | None = None,
        *,
        oci: bool = True,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        status: str = ACTIVE,
    ) -> str:
        """Push a new single-platform image (OCI or Docker v2 manifest)."""
        manifest = manifests.image_manifest(oci=oci)
        return self.put_manifest(
            repo,
            manifest,
            manifest["mediaType"],
            tag,
            pushed_at=pushed_at,
            last_pulled_at=last_pulled_at,
            status=status,
        )

    def push_multiarch(
        self,
        repo: str,
        tag: str | None = None,
        *,
        platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
        attestations: bool = True,
        oci: bool = True,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        status: str = ACTIVE,
    ) -> MultiArch:
        """Push like `docker buildx --push`: platform images, attestations, then the index."""
        extra: dict[str, Any] = {
            "pushed_at": pushed_at,
            "last_pulled_at": last_pulled_at,
            "status": status,
        }
        entries: list[dict[str, Any]] = []
        children: list[str] = []
        for platform in platforms:
            data = manifests.encode(manifests.image_manifest(oci=oci))
            media_type = manifests.OCI_MANIFEST if oci else manifests.DOCKER_MANIFEST
            children.append(self.put_manifest(repo, data, media_type, **extra))
            entries.append(
                manifests.descriptor(media_type, data, platform=manifests.platform_of(platform))
            )
        attested: list[str] = []
        if attestations:
            for child in children:
                data = manifests.encode(manifests.attestation_manifest())
                attested.append(self.put_manifest(repo, data, manifests.OCI_MANIFEST, **extra))
                entries.append(manifests.attestation_descriptor(data, child))
        index = manifests.index_manifest(entries, oci=oci)
        digest = self.put_manifest(repo, index, index["mediaType"], tag, **extra)
        return MultiArch(index=digest, platform_children=children, attestations=attested)

    def push_nested_index(
        self,
        repo: str,
        tag: str | None,
        child_indexes: list[str],
        *,
        oci: bool = True,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        status: str = ACTIVE,
    ) -> str:
        """Push an index whose entries are other manifests of the repo (typically indexes)."""
        with LOCK:
            table = self._registry.repository(repo)
            entries = [
                manifests.descriptor(table.images[d].media_type, table.images[d].manifest)
                for d in child_indexes
            ]
        index = manifests.index_manifest(entries, oci=oci)
        return self.put_manifest(
            repo,
            index,
            index["mediaType"],
            tag,
            pushed_at=pushed_at,
            last_pulled_at=last_pulled_at,
            status=status,
        )

    def push_referrer(
        self,
        repo: str,
        subject: str,
        *,
        artifact_type: str = manifests.NOTATION_SIGNATURE,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        status: str = ACTIVE,
    ) -> str:
        """Push an untagged OCI 1.1 referrer (signature, SBOM, ...) of `subject`."""
        with LOCK:
            found = self._registry.repository(repo).images.get(subject)
        if found is not None:
            subject_descriptor = manifests.descriptor(found.media_type, found.manifest)
        else:  # referrers may be pushed before (or without) their subject
            subject_descriptor = {"mediaType": manifests.OCI_MANIFEST, "digest": subject, "size": 0}
        manifest = manifests.referrer_manifest(subject_descriptor, artifact_type)
        return self.put_manifest(
            repo,
            manifest,
            manifests.OCI_MANIFEST,
            pushed_at=pushed_at,
            last_pulled_at=last_pulled_at,
            status=status,
        )

    def bulk_untagged(self, repo: str, count: int, *, pushed_at: datetime) -> list[str]:
        """Seed `count` distinct untagged Docker images in one go (200,000 in seconds);
        returns their digests."""
        when = aware(pushed_at)
        images = []
        with _gc_paused():
            for _ in range(count):
                blobs = binascii.hexlify(os.urandom(64))
                size = 1_000_000 + int(blobs[:5], 16)
                data = manifests.bulk_manifest(blobs, size)
                images.append(
                    StoredImage(
                        digest=manifests.digest_of(data),
                        manifest=data,
                        media_type=manifests.DOCKER_MANIFEST,
                        pushed_at=when,
                        artifact_media_type=manifests.DOCKER_CONFIG,
                        layers_size=size,
                    )
                )
        with LOCK:
            self._registry.repository(repo).add_many(images)
        return [image.digest for image in images]

    # --- changing images ---------------------------------------------------------------

    def tag(self, repo: str, digest: str, tag: str) -> None:
        """Add `tag` to an existing image (moving it from any other), as a re-push would."""
        with LOCK:
            self._image(repo, digest)
            self._registry.repository(repo).tag(digest, tag)

    def archive(self, repo: str, digest: str) -> None:
        with LOCK:
            image = self._image(repo, digest)
            image.status, image.last_archived_at = ARCHIVED, utcnow()

    def start_restore(self, repo: str, digest: str) -> None:
        """Leave the image ACTIVATING, as real ECR does for up to 20 minutes of a restore."""
        with LOCK:
            image = self._image(repo, digest)
            image.status = ACTIVATING

    def tag_repository(self, repo: str, tags: dict[str, str]) -> None:
        """Resource tags on the repository (TagResource, through the endpoint like a user)."""
        ecr = self.client("ecr")
        arn = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryArn"]
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def set_pull_policy(self, repo: str, *principals: str, **condition: str) -> None:
        """A repository policy letting `principals` (account ids, ARNs or `*`) pull, with
        an optional `StringEquals` condition such as `aws:PrincipalOrgID="o-..."`."""
        statement: dict[str, Any] = {
            "Sid": "Pull",
            "Effect": "Allow",
            "Principal": {"AWS": list(principals)},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }
        if condition:
            statement["Condition"] = {
                "StringEquals": {key.replace("_", ":", 1): v for key, v in condition.items()}
            }
        self._internal_client("ecr").set_repository_policy(
            repositoryName=repo,
            policyText=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )

    def set_replication(self, rules: list[dict[str, Any]]) -> None:
        """The registry's replication rules, as DescribeRegistry returns them.

        Written straight into moto's backend: its PutReplicationConfiguration refuses more
        than one rule ("This feature is disabled"), where ECR takes up to ten.
        """
        with LOCK:
            self._registry.backend.replication_config = {"rules": rules}

    def restore(self, repo: str, digest: str, *, at: datetime | None = None) -> None:
        """Finish a restore at once, or as of `at` (real ECR passes through ACTIVATING for
        ~20 minutes); `imagePushedAt` stays the original push, as in ECR."""
        with LOCK:
            image = self._image(repo, digest)
            image.status, image.last_activated_at = ACTIVE, aware(at) if at else utcnow()

    def set_last_pulled(self, repo: str, digest: str, when: datetime) -> None:
        with LOCK:
            self._image(repo, digest).last_pulled_at = aware(when)

    # --- inspection --------------------------------------------------------------------

    def images(self, repo: str) -> dict[str, ImageState]:
        """Every image of the repository, whatever its status, by digest."""
        with LOCK:
            table = self._registry.repository(repo)
            return {digest: _state(table, image) for digest, image in table.images.items()}

    def manifest(self, repo: str, digest: str) -> bytes:
        with LOCK:
            return self._image(repo, digest).manifest

    # --- things that keep untagged images in use -------------------------------------

    def image_uri(self, repo: str, digest: str) -> str:
        return image_uri(self._account_id, self._region, repo, digest)

    def run_ecs_task(self, cluster: str, repo: str, digest: str) -> str:
        """Start a RUNNING task whose container runs `repo@digest`; returns the task ARN."""
        family = f"{repo.replace('/', '-')}-{digest.removeprefix('sha256:')[:12]}"
        return self.run_task(cluster, self.image_uri(repo, digest), family=family)

    def run_task(
        self, cluster: str, image: str, *, pending: bool = False, family: str | None = None
    ) -> str:
        """Start a task whose one container runs `image` (any reference); returns its ARN.

        RUNNING, its container reporting the `imageDigest` it resolved; with `pending`,
        PENDING as before the pull: the container reports `image` and no `imageDigest`.
        """
        ecs = self._internal_client("ecs")
        if not ecs.describe_clusters(clusters=[cluster])["clusters"]:
            ecs.create_cluster(clusterName=cluster)
        family = family or f"task-{hashlib.sha256(image.encode()).hexdigest()[:12]}"
        self.register_task_definition(family, image)
        started = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE")
        task = started["tasks"][0]
        if pending:
            make_pending(self._account_id, self._region, task["clusterArn"], task["taskArn"])
        return str(task["taskArn"])

    def register_task_definition(self, family: str, image: str) -> str:
        """Register a revision of `family` whose one container runs `image` (any URI)."""
        ecs = self._internal_client("ecs")
        registered = ecs.register_task_definition(
            family=family,
            containerDefinitions=[{"name": "app", "image": image, "memory": 128}],
        )
        return str(registered["taskDefinition"]["taskDefinitionArn"])

    def create_service(
        self,
        cluster: str,
        name: str,
        repo: str,
        reference: str,
        *,
        desired_count: int = 0,
        legacy: bool = False,
        registry: tuple[str, str] | None = None,
    ) -> str:
        """Deploy service `name` on `repo` by tag or digest (again: update it, a new deployment).

        `registry` (account, region): the image is another registry's (a shared registry
        account's); by default this view's own.

        ECS resolves the image to a digest at deployment and records it in the service's
        revision; with the default desired count of 0 no task runs at all. A `legacy`
        service was created before ECS had service revisions: it reports none (until it is
        deployed again), only its deployments' task definitions.
        """
        ecs = self._internal_client("ecs")
        if not ecs.describe_clusters(clusters=[cluster])["clusters"]:
            ecs.create_cluster(clusterName=cluster)
        separator = "@" if reference.startswith("sha256:") else ":"
        account, region = registry or (self._account_id, self._region)
        uri = f"{account}.dkr.ecr.{region}.amazonaws.com/{repo}{separator}{reference}"
        definition = self.register_task_definition(f"{cluster}-{name}", uri)
        if ecs.describe_services(cluster=cluster, services=[name])["services"]:
            updated = ecs.update_service(
                cluster=cluster, service=name, taskDefinition=definition, desiredCount=desired_count
            )
            return str(updated["service"]["serviceArn"])
        created = ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=definition, desiredCount=desired_count
        )
        arn = str(created["service"]["serviceArn"])
        if legacy:
            make_legacy(self._account_id, self._region, arn)
        return arn

    def create_eks_cluster(
        self,
        kube: Any = None,
        *,
        name: str | None = None,
        ca_data: str | None = None,
        endpoint: str | None = None,
        **described: Any,
    ) -> None:
        """An EKS cluster whose API server is ``kube`` (a `LocalKubernetes`). ``ca_data``
        (base64 PEM) and ``endpoint`` replace the server's in DescribeCluster (another CA, a
        closed port); ``described``: `status`, `authentication_mode`, `public`, `private`,
        `public_cidrs` (see `eks.add`)."""
        name = name or kube.name
        eks.add(
            self._account_id,
            self._region,
            name,
            endpoint or (kube.endpoint if kube is not None else None),
            ca_data or (kube.ca_data if kube is not None else None),
            **described,
        )

    def fail_describe(self, arn: str, reason: str = "MISSING") -> None:
        """DescribeServices, DescribeServiceRevisions or DescribeTasks answer `arn` in
        `failures[]` with `reason` (every call, until `reset`), as ECS does for what it
        cannot read."""
        self.faults.describe_failures[arn] = reason

    def create_image_function(
        self,
        name: str,
        repo: str,
        digest: str,
        *,
        publish: bool = False,
        alias: str | None = None,
        registry: tuple[str, str] | None = None,
    ) -> str:
        """Deploy a container-image Lambda function on `repo@digest` (again: update its code).

        With `publish`, a version is published; `alias` then points at it (else at $LATEST).
        `registry` (account, region): the image is another registry's; by default this one's.
        Returns the ARN of what was deployed (the version's ARN when published).
        """
        lam = self._internal_client("lambda")
        uri = image_uri(*(registry or (self._account_id, self._region)), repo, digest)
        try:
            lam.get_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            deployed = lam.create_function(
                FunctionName=name,
                Role=self._lambda_role(),
                Code={"ImageUri": uri},
                PackageType="Image",
                Publish=publish,
            )
        else:
            deployed = lam.update_function_code(FunctionName=name, ImageUri=uri, Publish=publish)
        if alias is not None:
            version = deployed["Version"] if publish else "$LATEST"
            try:
                lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
            except lam.exceptions.ResourceConflictException:
                lam.update_alias(FunctionName=name, Name=alias, FunctionVersion=version)
        return str(deployed["FunctionArn"])

    def register_job_definition(
        self, name: str, image: str | None = None, **properties: Any
    ) -> str:
        """Register a revision of Batch job definition `name`; returns its ARN.

        `image` alone makes a container job (`containerProperties.image`); otherwise pass
        the properties as Batch takes them (`nodeProperties`, `ecsProperties`,
        `eksProperties`, `containerProperties`).
        """
        if image is not None:
            properties = {"containerProperties": {"image": image, "vcpus": 1}, **properties}
        return batch_apprunner.register_job_definition(
            self._account_id, self._region, name, properties
        )

    def deregister_job_definition(self, arn: str) -> None:
        """The revision becomes INACTIVE; its jobs already submitted go on."""
        batch_apprunner.deregister_job_definition(self._account_id, self._region, arn)

    def submit_batch_job(
        self,
        queue: str,
        definition_arn: str,
        *,
        status: str = "RUNNING",
        eks_override: dict[str, Any] | None = None,
    ) -> str:
        """A job of `definition_arn` on `queue` (created if new) in `status`; returns its id.
        `eks_override` is SubmitJob's `eksPropertiesOverride` (containers' `image`)."""
        return batch_apprunner.submit_job(
            self._account_id,
            self._region,
            queue=queue,
            definition_arn=definition_arn,
            status=status,
            eks_override=eks_override,
        )

    def create_app_runner_service(
        self, name: str, identifier: str, *, kind: str = "ECR", status: str = "RUNNING"
    ) -> str:
        """An App Runner service whose source is the image `identifier`; returns its ARN."""
        return batch_apprunner.create_service(
            self._account_id,
            self._region,
            name=name,
            identifier=identifier,
            kind=kind,
            status=status,
        )

    def put_public_parameter(self, name: str, value: str) -> None:
        """An AWS-owned public SSM parameter (`/aws/service/...`) in this view's region, as
        AWS publishes them (PutParameter refuses such names, in moto as in AWS)."""
        from moto.ssm.models import Parameter, ssm_backends  # noqa: PLC0415

        parameters = ssm_backends[self._account_id][self._region]._parameters
        parameters[name].append(
            Parameter(  # type: ignore[abstract]  # moto's model, as moto itself builds it
                account_id=self._account_id,
                name=name,
                value=value,
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=utcnow(),
                version=len(parameters[name]) + 1,
                data_type="text",
            )
        )

    def create_role(self, name: str, trust_policy: str | None = None) -> str:
        """Create an IAM role in this (view's) account; returns its ARN."""
        iam = self._internal_client("iam")
        document = trust_policy or '{"Version":"2012-10-17","Statement":[]}'
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"])

    # --- internals ---------------------------------------------------------------------

    def _image(self, repo: str, digest: str) -> StoredImage:
        image = self._registry.repository(repo).images.get(digest)
        if image is None:
            raise LookupError(f"no image {digest} in repository {repo}")
        return image

    def _internal_client(self, service: str) -> Any:
        """A client for the double's own setup calls: marked, so not recorded nor faulted."""
        if service not in self._internal:
            client = self.client(service, retries={"max_attempts": 1})

            account = self._account_id

            def mark(request: Any, **_: Any) -> None:
                request.headers[INTERNAL_HEADER] = account  # served as this account

            client.meta.events.register("before-sign", mark)
            self._internal[service] = client
        return self._internal[service]

    def _lambda_role(self) -> str:
        iam = self._internal_client("iam")
        try:
            return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            policy = '{"Version":"2012-10-17","Statement":[]}'
            role = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=policy)
            return str(role["Role"]["Arn"])


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Creating 200,000 objects would trigger full collections that each scan all of them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _state(table: RepoImages, image: StoredImage) -> ImageState:
    return ImageState(
        tags=image.tags,
        media_type=image.media_type,
        status=image.status,
        pushed_at=image.pushed_at,
        subject=image.subject,
        size=table.size_of(image),
        artifact_media_type=image.artifact_media_type,
        last_pulled_at=image.last_pulled_at,
        children=image.children,
    )
