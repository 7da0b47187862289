#!/usr/bin/env bash
# Installs everything the project needs, from its pinned files, into the project folder:
#   .venv/       Python 3.11+ with requirements-dev.txt (constrained by constraints.txt)
#   node_modules the pinned CDK CLI (package-lock.json)
#   .venv-scan/  checkov, kept apart because its dependencies conflict with ours
#   build/sdk-layer/  the pinned boto3, botocore and msgspec the function ships as a layer
# Re-running it is cheap: each part is skipped while its pin files are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp() { cat "$@" | sha256sum | cut -c1-16; }

python=${PYTHON:-python3}
want=$(stamp requirements.txt requirements-cdk.txt requirements-dev.txt constraints.txt)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv" >&2
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements-dev.txt -c constraints.txt
  echo "$want" > .venv/.installed
fi

# The function's SDK layer: wheels for arm64 CPython 3.14, as Lambda runs it (boto3 and
# botocore are pure Python, msgspec is compiled), so that `cdk synth` packages it offline. Lambda puts a layer's python/ on sys.path before the
# runtime's own boto3.
want=$(stamp requirements-layer.txt constraints.txt)
if [ "$(cat build/sdk-layer/.installed 2>/dev/null)" != "$want" ]; then
  echo "setup: building the SDK layer into build/sdk-layer" >&2
  rm -rf build/sdk-layer
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
    --only-binary=:all: --platform manylinux2014_aarch64 --implementation cp \
    --python-version 3.14 --target build/sdk-layer/python \
    -r requirements-layer.txt -c constraints.txt
  rm -rf build/sdk-layer/python/bin
  echo "$want" > build/sdk-layer/.installed
fi

if [ -f package-lock.json ]; then
  want=$(stamp package.json package-lock.json)
  if [ "$(cat node_modules/.installed 2>/dev/null)" != "$want" ]; then
    echo "setup: installing the pinned CDK CLI into node_modules" >&2
    npm ci --silent --no-audit --no-fund
    echo "$want" > node_modules/.installed
  fi
fi

if [ -f requirements-scan.txt ] && [ "${SKIP_SCANNERS:-}" != 1 ]; then
  want=$(stamp requirements-scan.txt)
  if [ "$(cat .venv-scan/.installed 2>/dev/null)" != "$want" ]; then
    echo "setup: installing checkov into .venv-scan" >&2
    "$python" -m venv .venv-scan
    .venv-scan/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
    echo "$want" > .venv-scan/.installed
  fi
fi
