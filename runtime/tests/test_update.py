"""The template update's checks, conflicts and report (ops/update.py, update_pr.py).

copier itself runs in the template's tests (tests/test_update.py), from a bake of an
older release; here, a git repository shaped as copier leaves one.
"""

import base64
import subprocess
from pathlib import Path

import pytest

from goldenpath.ops import pull_request, update, update_pr

ANSWERS = "_commit: 1.1.0\n_src_path: gh:acme/goldenpath\nproject_slug: eta\n"
CONFLICT = "a\n<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\nz\n"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repository(tmp_path: Path, monkeypatch) -> Path:
    """A committed project with an answers file, as the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("GH_TOKEN", "GITHUB_ACTIONS", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)
    git("init", "-q", "-b", "main")
    git("config", "user.name", "Tests")
    git("config", "user.email", "tests@example.com")
    (tmp_path / ".copier-answers.yml").write_text(ANSWERS)
    (tmp_path / "README.md").write_text("a\nz\n")
    git("add", "-A")
    git("commit", "-qm", "Scaffold")
    return tmp_path


def test_a_project_without_answers_is_sent_to_the_adoption(repository: Path) -> None:
    (repository / ".copier-answers.yml").unlink()
    with pytest.raises(SystemExit, match=r"no \.copier-answers\.yml .*migrations/adopt\.py"):
        update.check_ready()


def test_answers_without_a_release_are_refused(repository: Path) -> None:
    (repository / ".copier-answers.yml").write_text("project_slug: eta\n")
    with pytest.raises(SystemExit, match=r"names no release \(_commit\)"):
        update.check_ready()


def test_a_template_source_missing_here_asks_for_its_url(repository: Path) -> None:
    (repository / ".copier-answers.yml").write_text("_commit: 1.1.0\n_src_path: /gone/goldenpath\n")
    with pytest.raises(SystemExit, match=r"/gone/goldenpath, is not on this machine.*git URL"):
        update.check_ready()
    (repository / ".copier-answers.yml").write_text(f"_commit: 1.1.0\n_src_path: {repository}\n")
    git("commit", "-qam", "A local template")
    assert update.check_ready()["_src_path"] == str(repository)


def test_uncommitted_work_is_refused_by_name(repository: Path) -> None:
    (repository / "notes.txt").write_text("draft\n")
    with pytest.raises(SystemExit, match=r"uncommitted changes \(notes\.txt\): commit or stash"):
        update.check_ready()
    (repository / "notes.txt").unlink()
    assert update.check_ready()["_commit"] == "1.1.0"


def test_without_copier_the_update_says_where_it_comes_from(monkeypatch) -> None:
    monkeypatch.setattr(update.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit, match=r"copier is not installed here: `make setup`"):
        update.require_copier()


@pytest.mark.parametrize("version", ["--help", "-x", "1.2.0; rm -rf .", "a b"])
def test_a_version_that_is_not_a_release_is_refused(repository, version, monkeypatch) -> None:
    monkeypatch.setattr(update.subprocess, "run", lambda *a, **k: pytest.fail("copier ran"))
    with pytest.raises(SystemExit, match="is not a template release: give a tag"):
        update.copier_update(version)


def finished(code: int, calls: list | None = None):
    """subprocess.run as copier's: records the command and environment, exits `code`."""

    def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        if calls is not None:
            calls.append((command, env))
        return subprocess.CompletedProcess(command, code)

    return run


def test_copier_runs_inline_and_logs_in_to_github_with_the_token(repository, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(update.subprocess, "run", finished(0, calls))
    monkeypatch.setenv("GH_TOKEN", "t0ken")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # a setting of the caller's own stays first
    update.copier_update("1.2.0")
    ((command, env),) = calls
    assert command[-7:] == [
        "update",
        "--trust",
        "--defaults",
        "--conflict",
        "inline",
        "--vcs-ref",
        "1.2.0",
    ]
    basic = base64.b64encode(b"x-access-token:t0ken").decode()
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert env["GIT_CONFIG_KEY_1"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_1"] == f"AUTHORIZATION: basic {basic}"


def test_a_failed_copier_says_how_to_undo_it(repository, monkeypatch) -> None:
    monkeypatch.setattr(update.subprocess, "run", finished(1))
    with pytest.raises(
        SystemExit, match=r"copier update failed .*git checkout -- \. && git clean -fd"
    ):
        update.copier_update(None)


def test_conflicts_are_unmerged_files_marked_files_and_rejects(repository: Path) -> None:
    (repository / "README.md").write_text(CONFLICT)
    (repository / "Makefile").write_text("all:\n=======\n")  # a bare separator is no conflict
    (repository / "Dockerfile.rej").write_text("@@ -1 +1 @@\n")
    (repository / "merged.txt").write_text("both sides merged\n")
    changed = update.changes()
    assert update.conflicted(changed) == ["Dockerfile.rej", "README.md"]


def test_copiers_unmerged_entries_are_conflicts_without_markers_too(repository: Path) -> None:
    """copier records a conflicted file's three stages in the index, as git merge would."""
    blob = git("hash-object", "-w", "README.md").strip()
    stages = "".join(f"100644 {blob} {stage}\tREADME.md\n" for stage in (1, 2, 3))
    subprocess.run(
        ["git", "update-index", "--index-info"],
        input=f"0 {'0' * 40}\tREADME.md\n{stages}",
        text=True,
        check=True,
    )
    assert update.conflicted(update.changes()) == ["README.md"]


def test_the_report_names_the_releases_the_conflicts_and_what_to_do(
    repository, monkeypatch
) -> None:
    monkeypatch.setattr(update, "lock_is_current", lambda: False)
    answers = {"_commit": "1.2.0", "_src_path": "gh:acme/goldenpath"}
    text = update.report(answers, "1.1.0", [" M Makefile", "UU README.md"], ["README.md"])
    assert text.startswith(update.MARKER + "\n# Template update: 1.1.0 → 1.2.0\n")
    assert "## Conflicts: 1 to resolve" in text and "- `README.md`" in text
    assert "delete the marker lines" in text and "CI's lint fails" in text
    assert "`make setup` re-locks it" in text and "## Changed: 2 files" in text
    clean = update.report(answers, "1.1.0", [" M Makefile"], [])
    assert "No conflicts" in clean and "Conflicts:" not in clean
    # A conflicted pyproject.toml: the lock waits for it, and the conflict says so already.
    assert "re-locks it" not in update.report(
        answers, "1.1.0", ["UU pyproject.toml"], ["pyproject.toml"]
    )
    assert "Already on it" in update.report(answers, "1.2.0", [], [])


def test_the_pull_request_needs_the_report(repository: Path, monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["update_pr", "build/update-report.md"])
    with pytest.raises(SystemExit, match="`make update` first"):
        update_pr.main()
    (repository / "build").mkdir()
    (repository / "build" / "update-report.md").write_text("# something else\n")
    with pytest.raises(SystemExit, match="`make update` first"):
        update_pr.main()


def test_the_workflow_without_its_token_stops_naming_the_secret(repository, monkeypatch) -> None:
    report = repository / "build" / "update-report.md"
    report.parent.mkdir()
    report.write_text(update.MARKER + "\n")
    monkeypatch.setattr("sys.argv", ["update_pr", str(report)])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with pytest.raises(SystemExit, match=r"TEMPLATE_UPDATE_TOKEN is not set.*gh secret set"):
        update_pr.main()


def test_nothing_changed_proposes_nothing(repository, monkeypatch, capsys) -> None:
    report = repository / "build" / "update-report.md"
    report.parent.mkdir()
    report.write_text(update.MARKER + "\n")  # build/ is ignored, as in a project
    (repository / ".gitignore").write_text("build/\n")
    git("add", ".gitignore")
    git("commit", "-qm", "Ignore build/")
    monkeypatch.setattr("sys.argv", ["update_pr", str(report)])
    monkeypatch.setattr(update_pr, "propose", lambda *a: pytest.fail("proposed"))
    update_pr.main()
    assert "changed nothing: no pull request" in capsys.readouterr().out


def test_git_logs_in_with_the_token_for_one_command_only(monkeypatch) -> None:
    monkeypatch.delenv("GH_TOKEN", raising=False)
    assert pull_request.github_auth() == []
    monkeypatch.setenv("GH_TOKEN", "t0ken")
    basic = base64.b64encode(b"x-access-token:t0ken").decode()
    assert pull_request.github_auth() == [
        "-c",
        f"http.https://github.com/.extraheader=AUTHORIZATION: basic {basic}",
    ]
