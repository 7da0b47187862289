#!/usr/bin/env bash
# Synthesize the CDK app and scan the template; exits non-zero on any finding.
#
#   cdk synth  -> cdk.out/ (cdk-nag's AwsSolutions and Serverless packs run as validation
#                 plugins: an unacknowledged finding fails the synth itself)
#   cfn-lint   -> the synthesized template
#   checkov    -> the synthesized template (skips are acknowledged in the code, with reasons)
#
# Works offline, without AWS credentials and without Docker. It needs, once:
#   npm ci                                    # the pinned CDK CLI (package-lock.json)
#   python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt -c constraints.txt
#   python3 -m venv .venv-scan && .venv-scan/bin/pip install -r requirements-scan.txt
#                                             # checkov, kept apart: its dependencies conflict
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
outdir=${CDK_OUTDIR:-cdk.out}
template="$outdir/EcrUntaggedCleanup.template.json"

for tool in node_modules/.bin/cdk .venv/bin/python .venv/bin/cfn-lint .venv-scan/bin/checkov; do
    if [[ ! -x $tool ]]; then
        echo "check_stack: $tool is missing; see the install steps at the top of $0" >&2
        exit 2
    fi
done

# Offline and quiet: no version check, notices or telemetry, no instance-metadata probing
# for credentials, and jsii's Node version banners silenced.
export CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true
export AWS_EC2_METADATA_DISABLED=true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export PATH="$root/.venv/bin:$PATH"  # cdk.json runs `python3 app.py`

echo "== cdk synth (with cdk-nag)"
rm -rf "$outdir"
node_modules/.bin/cdk synth --quiet --no-notices --no-version-reporting --output "$outdir" "$@"

echo "== cfn-lint"
.venv/bin/cfn-lint "$template"

echo "== checkov"
.venv-scan/bin/checkov -f "$template" --framework cloudformation --skip-download --compact --quiet

echo "check_stack: no findings"
