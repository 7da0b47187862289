"""The local ECR double: moto in server mode behind a layer that restores real ECR semantics.

Tests talk to `LocalEcr().endpoint_url` with ordinary boto3 clients and get ECR's paging,
filters, digests, index protection and errors, plus ECS/Lambda image digests and paging,
injected faults and a record of every call. Modules, one job each:

- `double`: `LocalEcr`, the facade: lifecycle, clients, fixtures, inspection.
- `server`: the threaded werkzeug server on 127.0.0.1.
- `middleware`: the WSGI layer: call log, faults, routing to our ECR or to moto.
- `wire`: naming requests (service, operation, params) and writing AWS errors.
- `ecr_api`: the ECR operations answered with real semantics.
- `registry`: per-repository image tables (digests, tags, status, references).
- `inuse` / `listings`: ECS and Lambda answers corrected (digests, paging).
- `manifests`: real Docker/OCI manifest builders. `faults`, `paging`, `errors`: helpers.

    with LocalEcr() as ecr:
        ecr.create_repository("app")
        old = ecr.push_image("app", "latest")
        ecr.push_image("app", "latest")  # old is now untagged
        ecr.client("ecr").list_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"})
"""

from .double import ImageState, LocalEcr, MultiArch
from .errors import ApiError
from .faults import IMAGE_FAILURE_CODES, Fault, Faults
from .wire import Call

__all__ = [
    "IMAGE_FAILURE_CODES",
    "ApiError",
    "Call",
    "Fault",
    "Faults",
    "ImageState",
    "LocalEcr",
    "MultiArch",
]
