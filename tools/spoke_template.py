"""Print a spoke template for accounts the StackSets do not reach (see the README).

    python -m tools.spoke_template role [-c key=value ...] > role.json
    python -m tools.spoke_template exclusion [-c key=value ...] > exclusion.json

The configuration is cdk.json's context overridden by `-c key=value`, as for `cdk deploy`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.config import CleanupConfig, ConfigError
from infra.spoke import exclusion_template, role_template

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("role", "exclusion"):
        print(__doc__, file=sys.stderr)
        return 2
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    rest = argv[1:]
    while rest:
        if rest[0] != "-c" or len(rest) < 2 or "=" not in rest[1]:
            print(f"expected -c key=value, got {rest[0]!r}", file=sys.stderr)
            return 2
        key, value = rest[1].split("=", 1)
        context[key] = value
        rest = rest[2:]
    try:
        config = CleanupConfig.from_context(context.get)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    build = role_template if argv[0] == "role" else exclusion_template
    print(json.dumps(build(config), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
