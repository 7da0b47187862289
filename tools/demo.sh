#!/usr/bin/env bash
# Sets up, then runs the cleanup on the built-in local ECR (no AWS account needed):
# dry runs (default settings, then KEEP_UNTAGGED=1), then a real run, on a seeded sample
# registry, with the results printed.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_SCANNERS=1 bash tools/setup.sh
exec .venv/bin/python -m tools.cli demo "$@"
