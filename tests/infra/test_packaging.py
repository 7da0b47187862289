"""The function's code asset holds the runtime package and nothing else, and it imports."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from infra import function as function_module
from infra.config import CleanupConfig
from infra.function import ASSET_EXCLUDE, LAMBDA_DIR, SDK_LAYER_DIR, MissingSdkLayer
from tests.infra.cdk_helpers import cdk_context, make_app

HANDLER_FILE = LAMBDA_DIR / "ecr_cleanup" / "handler.py"
FORBIDDEN_PARTS = {"__pycache__", "tests", ".venv", "venv", ".pytest_cache", ".mypy_cache"}


def _asset_dir(app: App, outdir: Path, stack: Stack) -> Path:
    """The staged folder the template's Code points at: asset.<hash> in the cloud assembly."""
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (function,) = (
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )
    key = function["Properties"]["Code"]["S3Key"]
    asset = outdir / f"asset.{key.removesuffix('.zip')}"
    assert asset.is_dir(), f"no staged asset for {key}"
    return asset


def _files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def _runtime_modules(root: Path) -> set[str]:
    """What the asset should hold: the package's modules, without tests or caches."""
    return {
        name
        for name in _files(root)
        if name.startswith("ecr_cleanup/")
        and name.endswith(".py")
        and not FORBIDDEN_PARTS & set(name.split("/"))
        and not name.rsplit("/", 1)[-1].startswith(("test_", "conftest"))
    }


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HANDLER_FILE.exists():
        pytest.skip("lambda/ecr_cleanup/handler.py has not landed yet")
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = make_app(outdir=outdir)
    return _asset_dir(app, outdir, stack)


def test_asset_holds_the_package_modules_and_nothing_else(asset: Path) -> None:
    files = _files(asset)
    assert "ecr_cleanup/handler.py" in files
    assert "ecr_cleanup/__init__.py" in files
    assert files == _runtime_modules(LAMBDA_DIR)
    assert all(name.endswith(".py") for name in files)


def test_handler_imports_from_the_asset_alone(asset: Path, tmp_path: Path) -> None:
    """Only the asset, the standard library and the site-packages of boto3 and Powertools
    (what the runtime and the layers provide) are on sys.path: nothing from this repository.
    The handlers load neither pydantic nor the X-Ray SDK (the cold start's two largest
    imports once were)."""
    site_packages = sorted(
        {str(_site_packages_of(module)) for module in ("boto3", "aws_lambda_powertools")}
    )
    code = (
        "import sys\n"
        f"sys.path[:0] = {[str(asset), *site_packages]!r}\n"
        "import ecr_cleanup.hub.plan, ecr_cleanup.hub.scan, ecr_cleanup.hub.keep\n"
        "import ecr_cleanup.hub.clean, ecr_cleanup.hub.summary\n"
        "assert 'ecr_cleanup.handler' not in sys.modules, 'the hub imports the single shape'\n"
        "import ecr_cleanup.handler\n"
        "assert callable(ecr_cleanup.handler.handler)\n"
        f"assert ecr_cleanup.handler.__file__.startswith({str(asset)!r})\n"
        "heavy = {'pydantic', 'pydantic_core', 'aws_xray_sdk'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded, loaded\n"
    )
    environment = CleanupConfig.from_context(cdk_context().get).environment()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=tmp_path,
        env={**environment, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_exclude_list_drops_tests_caches_and_tooling(tmp_path: Path) -> None:
    """The same exclude list on a source tree that has everything a workspace accumulates."""
    source = tmp_path / "src"
    wanted = {"ecr_cleanup/__init__.py", "ecr_cleanup/handler.py", "ecr_cleanup/sub/deep.py"}
    unwanted = {
        "ecr_cleanup/__pycache__/handler.cpython-311.pyc",
        "ecr_cleanup/stale.pyc",
        "ecr_cleanup/tests/test_handler.py",
        "ecr_cleanup/test_thing.py",
        "ecr_cleanup/thing_test.py",
        "ecr_cleanup/conftest.py",
        "ecr_cleanup/py.typed",
        "ecr_cleanup/.mypy_cache/x.json",
        "ecr_cleanup/.hypothesis/examples/abc",
        "ecr_cleanup/sub/__pycache__/deep.cpython-314.pyc",
        "ecr_cleanup/sub/tests/test_deep.py",
        "requirements.txt",
        "README.md",
        "conftest.py",
        "tests/test_handler.py",
        ".venv/lib/python3.14/site-packages/boto3/__init__.py",
        ".pytest_cache/v/cache/lastfailed",
        "setup.py",
    }
    for name in wanted | unwanted:
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# placeholder\n")

    outdir = tmp_path / "cdk.out"
    app = App(outdir=str(outdir))
    stack = Stack(app, "Packaging")
    lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="ecr_cleanup.hub.clean.handler",
        code=lambda_.Code.from_asset(str(source), exclude=ASSET_EXCLUDE),
    )
    assert _files(_asset_dir(app, outdir, stack)) == wanted


def _site_packages_of(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"{module} is not installed"
    return Path(spec.origin).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if version:
            pins[name.split("[", 1)[0].lower()] = version
    return pins


def test_the_sdk_layer_pins_are_the_functions() -> None:
    """requirements-layer.txt ships exactly the boto3/botocore/msgspec requirements.txt tests
    with."""
    root = LAMBDA_DIR.parent
    layer = _pins(root / "requirements-layer.txt")
    assert set(layer) == {"boto3", "botocore", "msgspec"}
    function = _pins(root / "requirements.txt")
    assert layer == {name: function[name] for name in layer}


def test_the_built_layer_holds_the_pinned_versions_for_arm64_python_3_14() -> None:
    python = SDK_LAYER_DIR / "python"
    if not python.is_dir():
        pytest.skip("build/sdk-layer not built (tools/setup.sh builds it)")
    pins = _pins(LAMBDA_DIR.parent / "requirements-layer.txt")
    for name, version in pins.items():
        assert (python / f"{name}-{version}.dist-info").is_dir(), f"{name} {version} not built"
    compiled = sorted(p.name for p in python.rglob("*") if p.suffix in (".so", ".pyd"))
    # msgspec's one extension, built for what Lambda runs (boto3 and botocore are pure).
    assert compiled == ["_core.cpython-314-aarch64-linux-gnu.so"], compiled
    assert all(p.parent.name == "msgspec" for p in python.rglob("*.so"))


def test_synth_without_the_layer_says_to_run_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(function_module, "SDK_LAYER_DIR", tmp_path / "absent")
    with pytest.raises(MissingSdkLayer, match=r"tools/setup\.sh"):
        make_app(outdir=tmp_path / "cdk.out")


def test_synth_with_a_layer_built_from_older_pins_says_which_package_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer built before msgspec joined the pins (boto3/botocore only) must not ship."""
    stale = tmp_path / "sdk-layer"
    for name, version in _pins(LAMBDA_DIR.parent / "requirements-layer.txt").items():
        if name != "msgspec":
            (stale / "python" / f"{name}-{version}.dist-info").mkdir(parents=True)
    monkeypatch.setattr(function_module, "SDK_LAYER_DIR", stale)
    with pytest.raises(
        MissingSdkLayer, match=r"lacks msgspec==[0-9.]+: run `bash tools/setup\.sh`"
    ):
        make_app(outdir=tmp_path / "cdk.out")
