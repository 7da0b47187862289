#!/usr/bin/env bash
# The project's checks, as CI runs them: set up, lint, type-check, scan the stack, test.
# Tests talk only to 127.0.0.1 (moto server behind the local ECR double); no AWS account.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

bash tools/setup.sh
. .venv/bin/activate

echo "== ruff" >&2
ruff check .
ruff format --check .
echo "== mypy (strict)" >&2
mypy lambda infra tools app.py
if [ -f tools/check_stack.sh ]; then
  echo "== synth, cfn-lint, checkov" >&2
  bash tools/check_stack.sh
fi
echo "== pytest" >&2
python -m pytest "$@"
