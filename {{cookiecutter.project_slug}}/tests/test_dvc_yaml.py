"""dvc.yaml is exact: each stage depends on the modules it imports and the parameters it reads.

So `dvc repro` re-runs exactly what a change affects. Imports are followed from
the stage's module through the project's package (a package `__init__.py` that
holds only a docstring changes nothing, so it need not be listed). Parameters are
the attribute chains read from `load_params()` in the stage's module; jobs hand
the typed values on, never whole sections they do not declare.
"""

import ast
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT

SRC = PROJECT / "src"
STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]


def module_of(stage: dict) -> str:
    return stage["cmd"].split()[2]  # python -m <module> ...


def file_of(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_files(module: str) -> set[Path]:
    """The project's files that running `module` imports, packages included."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            path = file_of(".".join(parts[:depth]))
            if path is None or path in seen:
                continue
            seen.add(path)
            package = ".".join(parts[:depth] if path.name == "__init__.py" else parts[: depth - 1])
            todo += _imports(path, package)
    return seen


def _imports(path: Path, package: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names]  # submodules
    return [name for name in found if file_of(name)]


def changes_nothing(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body
    )


def code_deps(stage: dict) -> set[str]:
    return {dep for dep in stage["deps"] if dep.startswith("src/")}


def covered(path: Path, deps: set[str]) -> bool:
    relative = path.relative_to(PROJECT).as_posix()
    return any(relative == dep or relative.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("name", list(STAGES))
def test_every_stage_depends_on_the_modules_it_imports(name: str) -> None:
    stage = STAGES[name]
    files = imported_files(module_of(stage))
    missing = sorted(
        p.relative_to(PROJECT).as_posix()
        for p in files
        if not changes_nothing(p) and not covered(p, code_deps(stage))
    )
    assert not missing, f"dvc.yaml: stage {name} imports these; add them to its deps: {missing}"
    listed = {p.relative_to(PROJECT).as_posix() for p in files}
    stale = sorted(dep for dep in code_deps(stage) if dep not in listed)
    assert not stale, f"dvc.yaml: stage {name} does not import these deps: {stale}"


def params_read(module: str) -> set[str]:
    """Dotted keys read as attribute chains of `params` or `load_params()` in `module`."""
    read = set()
    for node in ast.walk(ast.parse(file_of(module).read_text())):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            from_params = isinstance(root, ast.Name) and root.id == "params"
            from_load = isinstance(root, ast.Call) and getattr(root.func, "id", "") == "load_params"
            if from_params or from_load:
                read.add(".".join(chain))
    # keep the longest chains only: params.data.seed also walks params.data
    return {key for key in read if not any(other.startswith(key + ".") for other in read)}


@pytest.mark.parametrize("name", [name for name in STAGES if name != "compose"])
def test_every_stage_declares_the_parameters_it_reads(name: str) -> None:
    """compose is left out: it writes params.yaml, from conf/, its declared dependency."""
    declared = set(STAGES[name].get("params", []))
    read = params_read(module_of(STAGES[name]))

    def declares(key: str) -> bool:
        return any(key == d or key.startswith(d + ".") for d in declared)

    undeclared = sorted(key for key in read if not declares(key))
    assert not undeclared, f"dvc.yaml: stage {name} reads {undeclared}: add them to its params"
    unread = sorted(d for d in declared if not any(k == d or k.startswith(d + ".") for k in read))
    assert not unread, f"dvc.yaml: stage {name} declares {unread} but does not read them"


def test_the_checks_see_what_they_check() -> None:
    """The helpers find a real import and a real parameter (so the tests above can fail)."""
    train = {p.name for p in imported_files(module_of(STAGES["train"]))}
    assert {"train.py", "modeling.py", "model_io.py", "usecase.py", "contract.py"} <= train
    assert "split.py" not in train
    assert params_read(module_of(STAGES["split"])) == {"data.holdout_fraction", "data.seed"}
