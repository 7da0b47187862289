"""Service errors as AWS returns them, so botocore raises the same exception classes."""

from __future__ import annotations


class ApiError(Exception):
    """An error response: `code` becomes botocore's `Error.Code` (and exception class)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def invalid_parameter(message: str) -> ApiError:
    """ECR's answer to any out-of-range or inconsistent request parameter."""
    return ApiError("InvalidParameterException", message)


def repository_not_found(name: str, registry_id: str) -> ApiError:
    """Unknown repository, or one asked for in another account's registry."""
    return ApiError(
        "RepositoryNotFoundException",
        f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'",
    )


def image_not_found(image_id: dict[str, str], name: str, registry_id: str) -> ApiError:
    """DescribeImages / UpdateImageStorageClass: a requested image that is not there."""
    digest = image_id.get("imageDigest", "null")
    tag = image_id.get("imageTag", "null")
    return ApiError(
        "ImageNotFoundException",
        f"The image with imageId {{imageDigest:'{digest}', imageTag:'{tag}'}} does not exist "
        f"within the repository with name '{name}' in the registry with id '{registry_id}'",
    )
