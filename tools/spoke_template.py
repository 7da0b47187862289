"""Print the spoke template for accounts the StackSet does not reach (see the README).

    python -m tools.spoke_template [-c key=value ...] > spoke.json

The configuration is cdk.json's context overridden by `-c key=value`, as for `cdk deploy`.
Deploy the template in every target region of the account, the role region (parameter
`RoleRegion`: the first of `regions`, else the hub's region) first: its stack creates the
role, and every region's stack registers the role as a pull time update exclusion.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.config import CleanupConfig, ConfigError
from infra.spoke import spoke_template

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    rest = argv
    while rest:
        if rest[0] != "-c" or len(rest) < 2 or "=" not in rest[1]:
            print(f"expected -c key=value, got {rest[0]!r}", file=sys.stderr)
            print(__doc__, file=sys.stderr)
            return 2
        key, value = rest[1].split("=", 1)
        context[key] = value
        rest = rest[2:]
    try:
        config = CleanupConfig.from_context(context.get)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(spoke_template(config), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
