"""The migration onto the package layout (template 1.0.0), run by `copier update`.

    python migrations/package_layout.py before|after      (copier's Python, in the project)

copier deletes every file the old release rendered and the new one does not, whether the
team changed it or not. So, before the update, this renders the old release from the
recorded answers and notes the files the team changed since the template wrote them;
after it, it puts back those of them the update deleted, names each with what to do, and
points the team's references to the copied machinery (imports, conf/'s `_target_`s,
dvc.yaml's commands and dependencies) at the goldenpath package. The champion needs
nothing: the models the copied machinery saved hold only their libraries' types.
"""

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ANSWERS_FILE = Path(".copier-answers.yml")
MACHINERY = ("core", "io", "jobs", "serving", "monitoring")  # src/<package>/'s, now goldenpath's
OPS_SCRIPTS = ("image_tags", "metrics_report", "release", "retrain", "retrain_pr", "stack")
REWRITTEN = {".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sh", ".md", ".txt", ".ipynb"}
REWRITTEN_NAMES = {"Makefile", "Dockerfile"}
NOT_REWRITTEN = ("wheels/", "data/", "models/", ".dvc/")


class MigrationError(Exception):
    """A one-line reason the migration cannot go on, with what to do."""


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise MigrationError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def state_file() -> Path:
    """Where `before` leaves its findings for `after`: inside .git, never in the update."""
    return Path(git("rev-parse", "--git-path", "goldenpath-package-layout.json").strip())


def read_answers() -> dict:
    import yaml  # copier's own dependency: this runs on copier's Python

    if not ANSWERS_FILE.is_file():
        raise MigrationError(f"no {ANSWERS_FILE} here: run this from the project's root")
    answers = yaml.safe_load(ANSWERS_FILE.read_text()) or {}
    if not answers.get("package_name") or not answers.get("_src_path"):
        raise MigrationError(
            f"{ANSWERS_FILE} names no package_name or _src_path: write it with migrations/adopt.py"
        )
    return answers


def render_old_release(answers: dict, destination: Path) -> None:
    """The release the project was made from, as copier renders it for the update's diff."""
    from copier import run_copy

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    ref = os.environ.get("VERSION_FROM") or answers.get("_commit")
    try:
        run_copy(
            str(answers["_src_path"]),
            destination,
            data=data,
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            quiet=True,
            skip_tasks=True,
            unsafe=True,
        )
    except Exception as error:  # copier's, git's or a template's: one line, then stop
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise MigrationError(
            f"rendering release {ref} of {answers['_src_path']} failed ({reason}): check"
            f" _src_path and _commit in {ANSWERS_FILE}; nothing was changed"
        ) from None


def changed_lines(template: bytes, project: bytes) -> int:
    """How many lines the team added or removed (a text file's)."""
    old = template.decode(errors="replace").splitlines()
    new = project.decode(errors="replace").splitlines()
    return sum(
        1
        for line in difflib.unified_diff(old, new, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def before() -> None:
    answers = read_answers()
    with tempfile.TemporaryDirectory(prefix="goldenpath-old-release.") as scratch:
        render_old_release(answers, Path(scratch))
        rendered = sorted(
            path.relative_to(scratch).as_posix()
            for path in Path(scratch).rglob("*")
            if path.is_file() and ".git" not in path.relative_to(scratch).parts
        )
        edited = {}
        for name in rendered:
            mine = Path(name)
            if name == ANSWERS_FILE.as_posix() or not mine.is_file():
                continue  # the answers are copier's; a file the team deleted stays deleted
            theirs = (Path(scratch) / name).read_bytes()
            if mine.read_bytes() != theirs:
                edited[name] = changed_lines(theirs, mine.read_bytes())
    state_file().write_text(json.dumps({"rendered": rendered, "edited": edited}, indent=1))


def replacement(path: str, package: str) -> str:
    """What to do with `path`, a file the template wrote, the team changed, and the new
    release no longer has."""
    parts = Path(path).with_suffix("").parts
    then = "; then delete the file"
    if parts[:2] == ("src", package) and len(parts) > 2 and parts[2] in (*MACHINERY, "summary"):
        module = ".".join(["goldenpath", *parts[2:]]).removesuffix(".__init__")
        return (
            f"{module} replaces it: a change the runtime offers belongs in conf/ (a model"
            " library's trust, a metric), anything else goes to the platform team" + then
        )
    if parts[:1] == ("scripts",) and parts[-1] in OPS_SCRIPTS:
        command = f"`python -m goldenpath.ops.{parts[-1]}`"
        return f"{command} replaces it: take your change to the platform team{then}"
    if parts[:1] == ("tests",):
        return (
            "goldenpath.testing's suites (tests/test_goldenpath.py) run the template's tests"
            " now: keep only your own tests in it, importing goldenpath"
        )
    return "the template no longer has it: keep it only if something of yours needs it"


def absolute_module(path: Path, dots: str, rest: str) -> str | None:
    """The module a relative import in `path` names (src/ holds packages; tests/ is one)."""
    package = list(path.parent.parts[1:] if path.parts[:1] == ("src",) else path.parent.parts)
    up = len(dots) - 1
    if up > len(package):
        return None
    base = package[: len(package) - up] if up else package
    return ".".join([*base, *filter(None, rest.split("."))])


def rewrite_text(text: str, path: Path, package: str) -> str:
    machinery = "|".join((*MACHINERY, "summary"))
    pkg = re.escape(package)

    def relative(match: re.Match) -> str:
        target = absolute_module(path, match["dots"], match["rest"])
        found = target and re.fullmatch(rf"{pkg}\.((?:{machinery})(?:\.\w+)*)", target)
        if not found:
            return match[0]
        return f"{match['lead']}from goldenpath.{found[1]} import"

    if path.suffix == ".py":
        text = re.sub(
            r"^(?P<lead>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<rest>[\w.]*)[ \t]+import",
            relative,
            text,
            flags=re.M,
        )
    return re.sub(rf"(?<![\w.]){pkg}\.(?=(?:{machinery})\b)", "goldenpath.", text)


def drop_removed_dependencies(text: str, package: str) -> str:
    """dvc.yaml's dependencies on copied machinery that is gone: the stage's command is the
    runtime's now, whose version runtime.yaml records."""
    machinery = "|".join(MACHINERY)
    dependency = re.compile(
        rf"^[ \t]*-[ \t]+((?:src/{re.escape(package)}/(?:(?:{machinery})/\S+|summary\.py))"
        r"|scripts/\w+\.py)[ \t]*(?:#.*)?\n",
        re.M,
    )
    return dependency.sub(lambda match: "" if not Path(match[1]).exists() else match[0], text)


def tracked_text_files() -> list[Path]:
    names = git("ls-files", "-z").split("\0")
    return [
        Path(name)
        for name in names
        if name
        and not name.startswith(NOT_REWRITTEN)
        and (Path(name).suffix in REWRITTEN or Path(name).name in REWRITTEN_NAMES)
        and Path(name).is_file()
    ]


def dangling_imports(path: Path, text: str, removed: set[str]) -> list[str]:
    """Files of the old release that `path` still imports though the update removed them."""
    found = []
    for match in re.finditer(r"^[ \t]*from[ \t]+(\.+)([\w.]*)[ \t]+import", text, flags=re.M):
        module = absolute_module(path, match[1], match[2])
        if not module:
            continue
        prefix = "" if path.parts[:1] != ("src",) else "src/"
        candidate = prefix + module.replace(".", "/") + ".py"
        if candidate in removed:
            found.append(candidate)
    return found


def after() -> None:
    state = state_file()
    if not state.is_file():
        raise MigrationError(
            "the migration's `before` stage did not run: undo this update (git checkout . &&"
            " git clean -fd) and run copier update again"
        )
    found = json.loads(state.read_text())
    package = read_answers()["package_name"]
    before_update = set(git("ls-tree", "-r", "--name-only", "HEAD").splitlines())
    gone = {name for name in found["rendered"] if name in before_update and not Path(name).exists()}
    kept = sorted(name for name in found["edited"] if name in gone)
    for name in kept:  # copier deleted it: the team's version, from the commit before
        content = subprocess.run(["git", "show", f"HEAD:{name}"], capture_output=True, check=True)
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(content.stdout)
        # copier's --conflict rej: the team's change, rejected against a file that is gone
        Path(f"{name}.rej").unlink(missing_ok=True)
    removed = gone - set(kept)

    rewritten, dangling = [], []
    for path in tracked_text_files():
        text = path.read_text(errors="surrogateescape")
        new = rewrite_text(text, path, package)
        if path.name == "dvc.yaml":
            new = drop_removed_dependencies(new, package)
        if new != text:
            path.write_text(new, errors="surrogateescape")
            rewritten.append(path.as_posix())
        if path.suffix == ".py":
            dangling += [(path, module) for module in dangling_imports(path, new, removed)]

    print("\ngoldenpath: the package layout (layout 1): the machinery is the goldenpath runtime")
    print(f"  removed {len(removed)} files the template wrote that nobody changed")
    for name in kept:
        lines = found["edited"][name]
        changed = f"{lines} line{'s' if lines != 1 else ''}"
        print(f"  KEPT {name} (you changed {changed}): {replacement(name, package)}")
    for path, module in dangling:
        print(
            f"  {path} imports {module}, which the update removed: take what you use from"
            f" `git show HEAD:{module}` into a module of yours"
        )
    if rewritten:
        print(f"  pointed at goldenpath: {', '.join(rewritten)}")
    layout = re.compile(r"^\[tool\.goldenpath\][^\[]*?^layout\s*=\s*1\b", re.M | re.S)
    if not layout.search(Path("pyproject.toml").read_text()):
        print("  pyproject.toml lacks `[tool.goldenpath] layout = 1`: resolve its conflict first")
    print(
        "  next: resolve any conflicts (git status), commit, then make setup, make test and"
        " make smoke (the champion serves as it is; the next make repro runs every stage once)\n"
    )
    state.unlink()


def main() -> None:
    stage = sys.argv[1] if len(sys.argv) == 2 else ""
    if stage not in ("before", "after"):
        sys.exit(f"ERROR: package_layout.py {stage!r}: say before or after (copier's _migrations).")
    try:
        before() if stage == "before" else after()
    except MigrationError as problem:
        sys.exit(f"ERROR: the package-layout migration: {problem}")


if __name__ == "__main__":
    main()
