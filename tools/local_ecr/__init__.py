"""The local ECR double: moto in server mode behind a layer that restores real ECR semantics.

Tests talk to `LocalEcr().endpoint_url` with ordinary boto3 clients and get ECR's paging,
filters, digests, index protection and errors, plus ECS/Lambda image digests, injected
faults and a record of every call.
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
