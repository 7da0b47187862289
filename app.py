#!/usr/bin/env python3
"""CDK entry point: the app and its one stack, configured from CDK context (see cdk.json)."""

import sys

from aws_cdk import App

from infra.config import ConfigError
from infra.stack import build

app = App()
try:
    build(app)
except ConfigError as error:
    sys.exit(f"error: {error}")
app.synth()
