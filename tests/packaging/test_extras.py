"""pyproject's extras: the core and one extra per component, pinned alike, and the API
importing nothing its own install (core + ``api``) lacks.

Nothing is installed: the closure of an install is read from the development
environment's metadata (``bench.install_size``), and an ``api``-only environment is
simulated by refusing every other distribution's modules (``api_probe.py``).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bench.install_size import canonical, closure, project_requirements
from tests.packaging.api_probe import API_FIRST_PARTY, FIRST_PARTY, file_owners

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Modules of the batch and export components, which the API must never load.
NOT_THE_APIS = {"apache_beam", "coremltools", "onnx", "onnxruntime", "onnxscript"}


def _requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for the core's and every extra's, self-references left out."""
    found = [("core", Requirement(text)) for text in PROJECT["dependencies"]]
    for extra, texts in PROJECT["optional-dependencies"].items():
        found += [(extra, Requirement(text)) for text in texts]
    return [(where, r) for where, r in found if canonical(r.name) != canonical(PROJECT["name"])]


def _locked() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return {canonical(n): v for n, _, v in (line.partition("==") for line in lines if line)}


def test_torch_is_pinned_exactly_in_the_core_only():
    torch = [(where, str(r.specifier)) for where, r in _requirements() if r.name == "torch"]
    assert torch == [("core", "==2.13.0")]
    assert _locked()["torch"].split("+")[0] == "2.13.0"  # the lock's is the local CPU build


def test_every_pin_is_exact_alike_and_locked():
    pins: dict[str, set[str]] = {}
    for _, requirement in _requirements():
        pins.setdefault(canonical(requirement.name), set()).add(str(requirement.specifier))
    locked = _locked()
    for name, specifiers in pins.items():
        assert len(specifiers) == 1, f"{name} is pinned differently in two places: {specifiers}"
        (specifier,) = specifiers
        assert specifier.startswith("=="), f"{name} is not pinned exactly: {specifier}"
        assert locked[name].split("+")[0] == specifier[2:], f"{name}: lock has {locked[name]}"


def test_dev_is_every_component_plus_the_test_tools():
    extras = set(PROJECT["optional-dependencies"]) - {"dev"}
    assert extras == {"api", "batch", "export", "train"}
    (itself,) = [
        Requirement(text)
        for text in PROJECT["optional-dependencies"]["dev"]
        if canonical(Requirement(text).name) == canonical(PROJECT["name"])
    ]
    assert itself.extras == extras


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (type checkers' only)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            pending += node.orelse
        else:
            pending += ast.iter_child_nodes(node)


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (lazy imports are
    request paths too), as absolute dotted names; not those for type checkers only."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names - {"__future__"}


def _module_file(name: str) -> Path | None:
    """The source file of this project's module ``name`` (None: a name imported from it)."""
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _api_import_graph() -> tuple[set[str], set[str]]:
    """(this project's modules, other top-level import names) reachable from any module
    of ``coach_api`` through import statements."""
    pending = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "coach_api").rglob("*.py")
    ]
    ours, others = set(), set()
    while pending:
        module = pending.pop()
        if module in ours:
            continue
        ours.add(module)
        for name in _imports(_module_file(module), module):
            if name.partition(".")[0] not in FIRST_PARTY:
                others.add(name)
            elif _module_file(name) is not None:
                pending.append(name)
    return ours, others


def _distribution_of(name: str, owners: dict[str, str]) -> str | None:
    """The installed distribution module ``name`` comes from (None: the standard
    library's). A namespace package (``google``) is looked into until a module answers."""
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):
        spec = importlib.util.find_spec(".".join(parts[:depth]))
        assert spec is not None, f"{name} is not importable here"
        if spec.origin is not None:
            return owners.get(os.path.normpath(spec.origin))
    return None


def test_the_api_imports_only_its_own_install():
    ours, others = _api_import_graph()
    assert {m.partition(".")[0] for m in ours} <= API_FIRST_PARTY
    assert not {name.partition(".")[0] for name in others} & NOT_THE_APIS
    allowed = set(closure(project_requirements(("api",))))
    owners = file_owners()
    outside = {}
    for name in sorted(others):
        if name.partition(".")[0] not in sys.stdlib_module_names:
            dist = _distribution_of(name, owners)
            if dist is not None and dist not in allowed:
                outside[name] = dist
    assert not outside, f"the API imports modules its install lacks: {outside}"


@pytest.mark.slow
def test_an_api_only_install_serves_the_app(tmp_path):
    """The app served and used by a phone, in a fresh interpreter that sees only the
    ``api`` install's distributions: every answer right, nothing else loaded."""
    from synthetic_data.detector import phone_json
    from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

    user = generate_clip(ClipRequest(seed=3, movement="squat", num_reps=2, num_cameras=1))
    payloads = tmp_path / "payloads.json"
    payloads.write_text(
        json.dumps({"trainer": phone_json(trainer_clip("squat")), "user": phone_json(user)})
    )
    allowed = tmp_path / "allowed.json"
    allowed.write_text(json.dumps([*closure(project_requirements(("api",))), PROJECT["name"]]))
    out = tmp_path / "seen.json"
    probe = Path(__file__).with_name("api_probe.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("COACH_")}
    result = subprocess.run(
        [sys.executable, str(probe), str(payloads), str(out), str(allowed)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(out.read_text())
    assert seen["answers"] == {
        "/v1/healthz": 200, "/v1/readyz": 200, "/v1/openapi.json": 200, "/v1/docs": 200,
        "/v1/metrics": 200, "/v1/models": 200, "POST /v1/routines": 201,
        "POST /v1/sessions": 201, "report.html": 200, "live": "ready",
    }  # fmt: skip
    assert set(seen["distributions"]) <= set(json.loads(allowed.read_text()))
    assert set(seen["first_party"]) == API_FIRST_PARTY
    assert not {m.partition(".")[0] for m in seen["modules"]} & NOT_THE_APIS
