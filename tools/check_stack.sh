#!/usr/bin/env bash
# Synthesize the CDK app and scan the template; exits non-zero on any finding.
# Without arguments it checks the defaults (into cdk.out/) and a variant with every optional
# resource; with `-c key=value ...` arguments it checks that configuration only.
#
#   cdk synth  -> cdk.out/ (cdk-nag's AwsSolutions and Serverless packs run as validation
#                 plugins: an unacknowledged finding fails the synth itself)
#   cfn-lint   -> the synthesized template
#   checkov    -> the synthesized template (skips are acknowledged in the code, with reasons)
#
# Works offline, without AWS credentials and without Docker, and proves it: synth runs with
# every AWS credential source emptied, with `docker` replaced by `false`, and, where the
# kernel lets an unprivileged user do so (`unshare -rn`), in a network namespace with no
# network at all. It needs, once:
#   (or all at once: bash tools/setup.sh)
#   npm ci                                    # the pinned CDK CLI (package-lock.json)
#   python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt -c constraints.txt
#   python3 -m venv .venv-scan && .venv-scan/bin/pip install -r requirements-scan.txt
#                                             # checkov, kept apart: its dependencies conflict
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
outdir=${CDK_OUTDIR:-cdk.out}
stack=EcrUntaggedCleanup

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

# No credentials (none in the environment, no files, no instance metadata) and no Docker.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE \
    AWS_DEFAULT_PROFILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null CDK_DOCKER=false
offline=()
if unshare -rn true 2>/dev/null; then
    offline=(unshare -rn)
else
    echo "check_stack: no network namespace here (unshare -rn); synth runs with the network" >&2
fi

# scan OUTDIR [cdk synth options...]: synthesize into OUTDIR, then lint and scan the template.
scan() {
    local out=$1
    shift
    echo "== cdk synth (with cdk-nag${offline:+, no network}) $*"
    rm -rf "$out"
    "${offline[@]}" node_modules/.bin/cdk synth --quiet --no-notices --no-version-reporting \
        --output "$out" "$@"
    echo "== cfn-lint"
    .venv/bin/cfn-lint "$out/$stack.template.json"
    echo "== checkov"
    .venv-scan/bin/checkov -f "$out/$stack.template.json" --framework cloudformation \
        --skip-download --compact --quiet
}

if (($#)); then
    scan "$outdir" "$@"  # the configuration given on the command line (-c key=value ...)
else
    scan "$outdir"
    # Optional resources too: the e-mail subscription, globs, another registry, no in-use
    # reads, reserved concurrency.
    variant=$(mktemp -d)
    trap 'rm -rf "$variant"' EXIT
    scan "$variant/cdk.out" -c alarmEmail=ops@example.com -c "repositories=app-*,web" \
        -c registryId=123456789012 -c protectInUse=false -c reserveConcurrency=true
    # EKS clusters by name (their access entries) and the function in a VPC.
    scan "$variant/cdk.out-eks" -c eksClusters=prod,staging \
        -c vpcSubnets=subnet-0123456789abcdef0,subnet-0fedcba9876543210 \
        -c vpcSecurityGroups=sg-0123456789abcdef0
    # The organization shape: the hub, its StackSets, both kinds of targets.
    scan "$variant/cdk.out-org" -c accounts=111111111111,222222222222 \
        -c organizationalUnits=ou-ab12-11111111 -c organizationId=o-abcdefghij \
        -c regions=eu-west-1,us-east-1
fi

echo "check_stack: no findings"
