"""Releases of the template and its runtime: one version, one CHANGELOG entry, one tag.

    python tools/release.py check     the working tree is releasable (a test runs it)
    python tools/release.py tag       check, date the CHANGELOG entry, commit, tag
    python tools/release.py tags      tag the releases a clone without tags lacks

Main carries the next version in both pyproject.toml files and a `## X.Y.Z (unreleased)`
entry in CHANGELOG.md. Each entry says what a project must do on `make update`, in a
line `**Projects:**` that starts with one of KINDS. A release that changes a project's
layout (`[tool.goldenpath] layout` in the bake's pyproject.toml) needs a copier
migration (`_migrations` in copier.yml) with a version in the range it covers, so a
project of every earlier release reaches this one by itself.

A release is its tag and, so that a clone without tags (a CI checkout) still knows it,
its commit: the subject `Release X.Y.Z` (or `X.Y.Z: ...`) that `tag` writes.
"""

import datetime
import itertools
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = ROOT / "CHANGELOG.md"
PROJECT_PYPROJECT = "{{cookiecutter.project_slug}}/pyproject.toml"
KINDS = ("nothing to do", "a migration runs by itself", "a manual step")
LAYOUT = re.compile(r"^\[tool\.goldenpath\]\n(?:[^\[\n].*\n)*?layout = (\d+)\b", re.MULTILINE)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def version() -> str:
    """The one version: the template's and the runtime's must agree."""
    template, runtime = (
        tomllib.loads((ROOT / path).read_text())["project"]["version"]
        for path in ("pyproject.toml", "runtime/pyproject.toml")
    )
    if template != runtime:
        sys.exit(
            f"ERROR: pyproject.toml says {template}, runtime/pyproject.toml {runtime}:"
            " give both the version being released."
        )
    return template


RELEASE_SUBJECT = re.compile(r"^(?:Release )?(\d+\.\d+\.\d+)(?::.*)?$")


def releases() -> dict[Version, str]:
    """The releases and their commits, oldest first: the tags that are versions, and the
    release commits in the history (a tag wins where both name one)."""
    found: dict[Version, str] = {}
    for line in git("log", "--format=%H %s", "-E", "--grep=^(Release )?[0-9]+\\.").splitlines():
        commit, _, subject = line.partition(" ")
        if match := RELEASE_SUBJECT.match(subject):
            found.setdefault(Version(match[1]), commit)  # the newest commit of a version
    for line in git(
        "tag", "--list", "--format=%(refname:short) %(objectname) %(*objectname)"
    ).splitlines():
        name, *objects = line.split()  # an annotated tag's commit comes last
        try:
            found[Version(name)] = objects[-1]
        except InvalidVersion:
            continue
    return dict(sorted(found.items()))


def layout(text: str) -> int:
    """A bake's layout: 0 for the copied machinery, which declared none."""
    found = LAYOUT.search(text)
    return int(found[1]) if found else 0


def layouts(current: Version) -> dict[Version, int]:
    known = {
        release: layout(git("show", f"{commit}:{PROJECT_PYPROJECT}"))
        for release, commit in releases().items()
    }
    known[current] = layout((ROOT / PROJECT_PYPROJECT).read_text())
    return dict(sorted(known.items()))


def uncovered_layout_changes(current: Version) -> list[str]:
    """Each layout change between consecutive releases that no migration covers."""
    copier = yaml.safe_load((ROOT / "copier.yml").read_text())
    migrations = [  # an entry without a version runs on every update, covering no change
        Version(str(entry["version"]))
        for entry in copier.get("_migrations") or []
        if "version" in entry
    ]
    known = list(layouts(current).items())
    problems = []
    for (before, old), (after, new) in itertools.pairwise(known):
        if old != new and not any(before < migration <= after for migration in migrations):
            problems.append(
                f"layout {old} ({before}) → {new} ({after}) has no migration: add one to"
                f" copier.yml's _migrations with a version after {before}, at most {after}."
            )
    return problems


def entry(release: str) -> tuple[str, str]:
    """The CHANGELOG entry of `release`: its heading's rest and its Projects line."""
    text = CHANGELOG.read_text()
    heading = re.search(rf"^## {re.escape(release)}(.*)$", text, re.MULTILINE)
    if heading is None:
        sys.exit(
            f"ERROR: CHANGELOG.md has no entry for {release}: add `## {release} (unreleased)`"
            f" with a `**Projects:**` line starting with one of: {', '.join(KINDS)}."
        )
    body = text[heading.end() :].split("\n## ", 1)[0]
    projects = re.search(r"^\*\*Projects:\*\* (.*)$", body, re.MULTILINE)
    if projects is None or not projects[1].startswith(KINDS):
        sys.exit(
            f"ERROR: CHANGELOG.md's {release} entry needs a line `**Projects:** <what to do>`"
            f" starting with one of: {', '.join(KINDS)}."
        )
    return heading[1].strip(), projects[1]


def check() -> str:
    release = version()
    current = Version(release)
    _, projects = entry(release)
    tagged = list(releases())
    if tagged and current < tagged[-1]:
        sys.exit(f"ERROR: version {release} is older than the release {tagged[-1]}: raise it.")
    if problems := uncovered_layout_changes(current):
        sys.exit("\n".join(f"ERROR: {problem}" for problem in problems))
    previous = [tag for tag in tagged if tag < current]
    changed = previous and layouts(current)[previous[-1]] != layouts(current)[current]
    if changed and projects.startswith(KINDS[0]):
        sys.exit(
            f"ERROR: {release} changes the project layout since {previous[-1]}: its"
            " **Projects:** line cannot say nothing to do (a migration runs by itself?)."
        )
    return release


def tag() -> None:
    release = check()
    if Version(release) in releases():
        sys.exit(f"ERROR: {release} is released already: raise the version for the next one.")
    if git("status", "--porcelain"):
        sys.exit("ERROR: the working tree has changes: commit them, then release.")
    status, _ = entry(release)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    text = CHANGELOG.read_text()
    heading = f"## {release} {status}".rstrip()
    CHANGELOG.write_text(text.replace(f"{heading}\n", f"## {release} ({today})\n", 1))
    changelog = CHANGELOG.resolve().relative_to(ROOT).as_posix()
    # Always a commit of its own: its subject keeps the release known without the tag.
    git("commit", "-q", "--allow-empty", "-m", f"Release {release}", "--", changelog)
    git("tag", "-a", release, "-m", f"Release {release}")
    print(f"Tagged {release}: push it (git push origin {release}); projects take it: make update")


def restore_tags() -> None:
    """Tag each release commit whose tag this clone lacks (copier resolves tags only)."""
    tags = set(git("tag", "--list").split())
    for release, commit in releases().items():
        if str(release) not in tags:
            git("tag", str(release), commit)
            print(f"Tagged {release} at {commit[:7]}")


def main() -> None:
    commands = {
        "check": lambda: print(f"{check()}: releasable"),
        "tag": tag,
        "tags": restore_tags,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
