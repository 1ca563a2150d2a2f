"""The engine's layout is enforced, not hoped for: layers, purity, typed views, imports.

A reader who knows Kubernetes finds pkg/kubelet, the apiserver and etcd where they expect them; these
tests keep it that way when a kind, a component or a view is added.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
MAX_ROOT_MODULES = 14
SECTIONS = {"metadata", "spec", "status"}


def _engine_files() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_import_contracts_hold():
    """.importlinter: the engine is pure, only persistence imports SQLAlchemy, the layers hold."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "lint-imports is missing: install requirements-test.txt"
    run = subprocess.run([lint, "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_engine_root_keeps_only_what_all_share():
    root_modules = sorted(p.name for p in ENGINE.glob("*.py"))
    assert len(root_modules) <= MAX_ROOT_MODULES, root_modules
    for package in ("kubelet", "apiserver", "etcd", "controllers", "scheduler", "network", "chaos", "client"):
        assert (ENGINE / package / "__init__.py").exists(), package


def test_sections_are_read_through_the_typed_views():
    """``obj.get("spec") or {}`` and ``obj.get("spec", {})`` are spelled ``spec_of(obj)`` (engine/objects.py)."""
    offenders = []
    for path in _engine_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            call = None
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2 \
                    and isinstance(node.values[1], ast.Dict) and not node.values[1].keys:
                call = node.values[0]
            elif isinstance(node, ast.Call) and len(node.args) == 2 and isinstance(node.args[1], ast.Dict) \
                    and not node.args[1].keys:
                call = node
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "get"
                    and call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value in SECTIONS):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "read sections with engine.objects' views: " + ", ".join(offenders)


def test_no_module_imports_a_private_name_from_another_package():
    offenders = []
    for path in _engine_files():
        module = _module_name(path)
        package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                target_package = target.rsplit(".", 1)[0] if target.count(".") > 1 else target
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") \
                            and not (target.startswith(package + ".") or target == package
                                     or target_package == package):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {alias.name} from {target}")
    assert not offenders, offenders


@pytest.fixture(scope="module")
def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph("engine", cache_dir=None)


def test_every_function_level_import_breaks_a_cycle(import_graph):
    """An import inside a function is only there because the module it names imports this one back."""
    needless = []
    for path in _engine_files():
        module = _module_name(path)
        tree = ast.parse(path.read_text())
        top_level = {id(n) for n in tree.body}
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom):
                    targets = [_resolve(module, path, node)]
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                else:
                    continue
                for target in targets:
                    if id(node) in top_level:
                        continue
                    if target == "engine" or target.startswith("engine."):
                        candidates = [target] + [f"{target}.{a.name}" for a in getattr(node, "names", ())]
                        known = [c for c in candidates if c in import_graph.modules]
                        if any(import_graph.find_shortest_chain(importer=c, imported=module) for c in known):
                            continue
                    needless.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
    assert not needless, "move these imports to the module top: " + ", ".join(needless)


def test_engine_never_reads_the_wall_clock():
    offenders = []
    for path in _engine_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today") \
                    and isinstance(node.value, (ast.Name, ast.Attribute)) \
                    and getattr(node.value, "attr", getattr(node.value, "id", "")) in ("datetime", "date", "_dt"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
