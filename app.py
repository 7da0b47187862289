#!/usr/bin/env python3
# cdk.json runs `python3 app.py` in the activated venv: bash tools/setup.sh && . .venv/bin/activate
"""CDK entry point: the app and its one stack, configured from CDK context (see cdk.json).

`python3` is whichever interpreter the shell finds first, so the CLI works with the project's
venv activated, or any other environment holding requirements-cdk.txt; with neither, the
app says so instead of failing on an import.
"""

import sys

try:
    from aws_cdk import App
except ModuleNotFoundError as missing:
    sys.exit(
        f"error: {missing.name} is not installed for {sys.executable}; run "
        "`bash tools/setup.sh && . .venv/bin/activate` in the project root, then retry"
    )

from infra.config import ConfigError
from infra.stack import build

app = App()
try:
    build(app)
except ConfigError as error:
    sys.exit(f"error: {error}")
app.synth()
