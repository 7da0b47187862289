"""The README's configuration table is checked against the code, so they cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from ecr_cleanup.settings import Settings
from infra.config import CleanupConfig
from tools.cli import app

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(
    r"^\| `(?P<key>\w+)` \| (?P<env>[^|]+) \| (?P<flag>[^|]+) \| (?P<default>[^|]+) \|"
)
NOTHING = {"(none)", "(caller's)"}


def table() -> dict[str, dict[str, str]]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        if match := ROW.match(line):
            cells = {name: value.strip().strip("`") for name, value in match.groupdict().items()}
            rows[cells.pop("key")] = cells
    return rows


ROWS = table()
CONTEXT = {
    key: value
    for key, value in json.loads((ROOT / "cdk.json").read_text())["context"].items()
    if not key.startswith("@")
}
DEFAULT_CONFIG = CleanupConfig.from_context(CONTEXT.get)
# The organization shape's hub functions get these on top (infra/organization.py).
HUB_ENVIRONMENT = CleanupConfig.from_context(
    {**CONTEXT, "accounts": "111111111111"}.get
).hub_environment(regions=["eu-west-1"], work_bucket="work-bucket")
HUB_ONLY = set(HUB_ENVIRONMENT) - set(DEFAULT_CONFIG.environment())


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def hub_variables() -> set[str]:
    """The hub variables the organization shape's part lists (derived, not one key each)."""
    text = (ROOT / "README.md").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("- hub variables:")]
    block = text[text.index(line) : text.index("\n\n", text.index(line))]
    return set(re.findall(r"`([A-Z_]+)`", block))


def test_every_context_key_and_every_setting_has_a_row():
    assert set(ROWS) == set(CONTEXT)
    documented = {row["env"] for row in ROWS.values()} | hub_variables()
    assert {field.encode_name for field in msgspec.structs.fields(Settings)} <= documented


@pytest.mark.parametrize("key", sorted(ROWS))
def test_default_is_the_one_cdk_json_deploys(key: str):
    documented = ROWS[key]["default"]
    assert as_text(CONTEXT[key]) == ("" if documented in NOTHING else documented)


@pytest.mark.parametrize(
    "key", sorted(k for k, row in ROWS.items() if row["env"].isupper() and row["env"] in HUB_ONLY)
)
def test_hub_environment_variable_is_one_the_hub_sets(key: str):
    assert ROWS[key]["env"] in HUB_ENVIRONMENT


@pytest.mark.parametrize(
    "key",
    sorted(k for k, row in ROWS.items() if row["env"].isupper() and row["env"] not in HUB_ONLY),
)
def test_environment_variable_is_the_one_the_stack_sets_and_the_function_reads(key: str):
    variable = ROWS[key]["env"]
    environment = DEFAULT_CONFIG.environment()
    assert variable in environment, f"the stack does not set {variable}"
    field = next(f for f in msgspec.structs.fields(Settings) if f.encode_name == variable)
    function_default = "" if field.required or field.default is None else as_text(field.default)
    stack_value = environment[variable]
    # The function's own default is what a missing variable means; the stack sets the
    # documented default explicitly (REPOSITORIES has no function default: it is required).
    if variable != "REPOSITORIES":
        assert stack_value == function_default, variable
    parsed = Settings.from_env({"REPOSITORIES": "app", **{variable: stack_value}})
    assert as_text(getattr(parsed, field_name(variable))) == (stack_value or "")


def field_name(variable: str) -> str:
    return next(f.name for f in msgspec.structs.fields(Settings) if f.encode_name == variable)


@pytest.mark.parametrize("key", sorted(k for k, row in ROWS.items() if row["flag"] != "(none)"))
def test_cli_flag_exists(key: str):
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    for flag in ROWS[key]["flag"].split("/"):
        assert re.search(rf"(^|\s){re.escape(flag)}(\s|/|$)", help_text, re.MULTILINE), flag
