"""TestDvcYaml: the project's dvc.yaml is exact, so `dvc repro` re-runs what a change affects.

Each stage runs a goldenpath job (`python -m goldenpath.jobs.<job> PATHS`), every path
of its command is one of its deps or outs, and it lists exactly the project's files
and parameters its job reads: `src/<package>/usecase.py` (and the project's modules it
imports) if the job calls `use_case()`, the example generator's module if it reads
`example_data` (ingest); the keys it reads from `load_params()` (attribute chains in
the job's module, found in the installed runtime), and its own entry of runtime.yaml
(what computes it: goldenpath/core/stages.py). No stage lists the runtime's modules:
they are installed, not in the repository, and runtime.yaml stands for them.
"""

import ast
import importlib.util
import shlex
from functools import cache
from pathlib import Path

from ...core import project, stages
from ..fixtures import dvc_stages

JOBS = "goldenpath.jobs."
RUNTIME_FILE = str(stages.RUNTIME_FILE)


def job_of(stage: dict) -> str:
    """The module a stage's command runs (`python -m <module> ...`)."""
    python, flag, module, *_ = shlex.split(stage["cmd"])
    assert (python, flag) == ("python", "-m"), f"not `python -m <job>`: {stage['cmd']}"
    return module


@cache
def source_of(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not installed"
    return ast.parse(Path(spec.origin).read_text())


def params_read(module: str) -> set[str]:
    """Dotted keys read as attribute chains of `params` or `load_params()` in `module`."""
    read = set()
    for node in ast.walk(source_of(module)):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            from_params = isinstance(root, ast.Name) and root.id == "params"
            from_load = isinstance(root, ast.Call) and getattr(root.func, "id", "") == "load_params"
            if from_params or from_load:
                read.add(".".join(chain))
    # the longest chains only: params.data.seed also walks params.data
    return {key for key in read if not any(other.startswith(key + ".") for other in read)}


def calls_use_case(module: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "use_case"
        for node in ast.walk(source_of(module))
    )


def reads_example_data(module: str) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr == "example_data"
        for node in ast.walk(source_of(module))
    )


def _module_of(generator) -> str:
    return getattr(generator, "func", generator).__module__  # a functools.partial too


def project_files(module: str, root: Path, skip: set[str] = frozenset()) -> set[str]:
    """`module`'s file and those of the project's modules it imports, transitively (not
    those of `skip`, nor a package's `__init__.py` that holds only a docstring)."""
    package, files, seen, todo = project.package(), set(), set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or name in skip or name.split(".")[0] != package:
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # `from .synthetic import WEEKS`: not a module
            continue
        if spec is None or not spec.origin:
            continue
        origin = Path(spec.origin).resolve()
        assert origin.is_relative_to(root.resolve()), f"{name} is not in {root}: `uv sync`"
        tree = source_of(name)
        docstring_only = all(isinstance(getattr(n, "value", None), ast.Constant) for n in tree.body)
        if not (origin.name == "__init__.py" and docstring_only):
            files.add(origin.relative_to(root.resolve()).as_posix())
        base = name if origin.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                where = "." * node.level + (node.module or "")
                target = importlib.util.resolve_name(where, base) if node.level else where
                todo += [target, *(f"{target}.{alias.name}" for alias in node.names)]
    return files


def files_read(module: str, use_case, root: Path) -> set[str]:
    """The project's files that `module` (a job) reads through the use case: usecase.py
    and what it imports, but the example generator's and the scenarios' modules only
    where the job reads `example_data` (ingest; `simulate` is not a stage)."""
    if not calls_use_case(module):
        return set()
    usecase = project._entry_point().value.split(":")[0]
    generators = [use_case.example_data, *use_case.scenarios.values()]
    skip = {_module_of(g) for g in generators if g is not None} - {usecase}
    files = project_files(usecase, root, skip)
    if use_case.example_data is not None and reads_example_data(module):
        files |= project_files(_module_of(use_case.example_data), root)
    return files


def names(entries: list) -> list[str]:
    """dvc.yaml's list of paths, each a string or a one-key mapping to its options."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


def covers(listed: str, path: str) -> bool:
    return path == listed or path.startswith(listed.rstrip("/") + "/")


class TestDvcYaml:
    def test_every_stage_runs_a_goldenpath_job(self, project_root, dvc_stage: str) -> None:
        module = job_of(dvc_stages(project_root)[dvc_stage])
        assert module.startswith(JOBS), f"stage {dvc_stage} runs {module}, not a goldenpath job"
        assert importlib.util.find_spec(module), f"stage {dvc_stage}: no job {module}"

    def test_every_path_of_a_command_is_a_dep_or_an_out(self, project_root, dvc_stage) -> None:
        stage = dvc_stages(project_root)[dvc_stage]
        _, _, _, *paths = shlex.split(stage["cmd"])
        listed = names(stage.get("deps", []) + stage.get("outs", []) + stage.get("metrics", []))
        unlisted = [p for p in paths if not any(covers(entry, p) for entry in listed)]
        assert not unlisted, f"dvc.yaml: stage {dvc_stage} uses {unlisted}: list them"

    def test_every_stage_lists_the_project_files_it_reads(
        self, project_root, dvc_stage: str, use_case
    ) -> None:
        stage = dvc_stages(project_root)[dvc_stage]
        expected = files_read(job_of(stage), use_case, project_root)
        code = {dep for dep in names(stage.get("deps", [])) if dep.startswith("src/")}
        code |= {dep for dep in names(stage.get("deps", [])) if dep.endswith(".py")}
        assert code == expected, (
            f"dvc.yaml: stage {dvc_stage} reads {sorted(expected)} of the project's code, "
            f"lists {sorted(code)} (the runtime's modules are runtime.yaml's: list none)"
        )

    def test_every_stage_declares_the_parameters_it_reads(self, project_root, dvc_stage) -> None:
        stage = dvc_stages(project_root)[dvc_stage]
        job = job_of(stage).removeprefix(JOBS)
        declared = {entry for entry in stage.get("params", []) if isinstance(entry, str)}
        files = {k: v for e in stage.get("params", []) if isinstance(e, dict) for k, v in e.items()}
        if job == "compose":  # it writes params.yaml and runtime.yaml, from conf/ and uv.lock
            assert {"conf", "uv.lock"} <= set(names(stage["deps"]))
            assert {"params.yaml", RUNTIME_FILE} <= set(names(stage["outs"]))
            assert not declared and not files, "compose reads conf/ and uv.lock, no params"
            return
        read = params_read(job_of(stage))

        def declares(key: str) -> bool:
            return any(key == d or key.startswith(d + ".") for d in declared)

        undeclared = sorted(key for key in read if not declares(key))
        assert not undeclared, f"dvc.yaml: stage {dvc_stage} reads {undeclared}: add to params"
        unread = sorted(
            d for d in declared if not any(k == d or k.startswith(d + ".") for k in read)
        )
        assert not unread, f"dvc.yaml: stage {dvc_stage} declares {unread} but does not read them"
        assert job in stages.REVISIONS, f"{job} has no entry in runtime.yaml"
        assert files == {RUNTIME_FILE: [job]}, (
            f"dvc.yaml: stage {dvc_stage} reads its entry of runtime.yaml: "
            f"params: [..., {{{RUNTIME_FILE}: [{job}]}}]"
        )

    def test_the_checks_see_what_they_check(self, project_root, use_case) -> None:
        """The readers find real parameters and files (so the tests above can fail)."""
        assert params_read(JOBS + "split") == {"data.holdout_fraction", "data.seed"}
        assert calls_use_case(JOBS + "train") and not calls_use_case(JOBS + "split")
        assert reads_example_data(JOBS + "ingest") and not reads_example_data(JOBS + "train")
        read = files_read(JOBS + "validate", use_case, project_root)
        assert "usecase.py" in {Path(path).name for path in read}
