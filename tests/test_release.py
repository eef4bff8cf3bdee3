"""Releases: one version, a CHANGELOG entry saying what projects do, migrations for layouts."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import TEMPLATE, clone_with_releases, run

RELEASED_FILES = (
    "tools/release.py",
    "runtime/CHANGELOG.md",
    "copier.yml",
    "pyproject.toml",
    "runtime/pyproject.toml",
    "{{cookiecutter.project_slug}}/pyproject.toml",
)


def release(command: str, root: Path = TEMPLATE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / "tools" / "release.py"), command],
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The template with its release tags, and this working tree's release files committed."""
    copy = clone_with_releases(tmp_path / "template")
    for name in RELEASED_FILES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TEMPLATE / name, copy / name)
    if not (copy / "CHANGELOG.md").is_symlink():
        (copy / "CHANGELOG.md").unlink(missing_ok=True)
        (copy / "CHANGELOG.md").symlink_to("runtime/CHANGELOG.md")
    run("git add -A && git commit --quiet --allow-empty -m 'This working tree'", copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def test_this_tree_is_releasable() -> None:
    result = release("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": releasable")


def test_a_clone_without_tags_knows_the_releases(tmp_path: Path) -> None:
    """CI's checkout has no tags: each release is found by its commit, and tagged again."""
    run(f"git clone -q --no-tags {TEMPLATE} {tmp_path / 'bare'}", tmp_path)
    shutil.copy(TEMPLATE / "tools" / "release.py", tmp_path / "bare" / "tools" / "release.py")
    restored = release("tags", tmp_path / "bare")
    assert restored.returncode == 0, restored.stderr
    for version in ("0.9.0", "1.0.0"):
        subject = run(f"git log -1 --format=%s {version}", tmp_path / "bare").stdout
        assert subject.startswith((f"{version}: ", f"Release {version}")), subject
    assert release("tags", tmp_path / "bare").stdout == ""  # nothing left to tag


def test_a_layout_change_needs_a_migration(clone: Path) -> None:
    """0.9.0 → 1.0.0 moved the machinery into the package: without its migration, refused."""
    copier = clone / "copier.yml"
    copier.write_text(
        re.sub(r"(?ms)^_migrations:\n(?:  .*\n|\s*\n)*", "_migrations: []\n", copier.read_text())
    )
    result = release("check", clone)
    assert result.returncode != 0
    assert "ERROR: layout 0 (0.9.0) → 1 (1.0.0) has no migration" in result.stderr, result.stderr


def test_the_changelog_says_what_projects_do(clone: Path) -> None:
    changelog = clone / "runtime" / "CHANGELOG.md"
    edit(changelog, "\n**Projects:** a manual step, once,", "\nProjects: a manual step, once,")
    result = release("check", clone)
    assert "needs a line `**Projects:** <what to do>`" in result.stderr, result.stderr


def test_the_template_and_the_runtime_have_one_version(clone: Path) -> None:
    version = release("check").stdout.split(":")[0]
    edit(clone / "runtime" / "pyproject.toml", f'version = "{version}"', 'version = "9.9.9"')
    result = release("check", clone)
    assert f"pyproject.toml says {version}, runtime/pyproject.toml 9.9.9" in result.stderr


def test_tagging_dates_the_entry_and_tags_once(clone: Path) -> None:
    version = release("check", clone).stdout.split(":")[0]
    tagged = release("tag", clone)
    assert tagged.returncode == 0, tagged.stderr
    assert run("git tag --points-at HEAD", clone).stdout.split() == [version]
    assert run("git log -1 --format=%s", clone).stdout.strip() == f"Release {version}"
    assert re.search(
        rf"^## {re.escape(version)} \(\d{{4}}-\d\d-\d\d\)$",
        (clone / "CHANGELOG.md").read_text(),
        re.M,
    )
    assert run("git status --porcelain", clone).stdout == ""
    again = release("tag", clone)
    assert again.returncode != 0 and f"{version} is released already" in again.stderr
