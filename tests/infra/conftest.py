"""Shared setup for the CDK tests: quiet jsii, and the default template as a fixture."""

from __future__ import annotations

import os

import pytest

# Before aws_cdk is imported: jsii prints a banner on every Node version it considers old.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from tests.infra.cdk_helpers import template_for


@pytest.fixture
def template() -> Template:
    """The template synthesized from cdk.json's defaults."""
    return template_for()
