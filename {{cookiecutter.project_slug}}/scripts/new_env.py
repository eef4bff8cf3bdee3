"""Write .env from .env.example: new secrets, and an id for this copy of the project.

    python3 scripts/new_env.py      (or: make env)

Every empty *_PASSWORD and *_SECRET_KEY gets a generated value, and `{instance}` a
random id, so the stack's names (compose project, volumes, image) are this copy's own.
Run once per clone: .env is gitignored. An existing .env is never overwritten.

    python3 scripts/new_env.py --missing      (after a template update, by its migration)

appends the settings .env.example has and .env lacks, valued the same way (with this
copy's instance id), and changes nothing .env holds.
"""

import re
import secrets
import sys
from pathlib import Path

SECRET_SUFFIXES = ("_PASSWORD", "_SECRET_KEY")


def valued(key: str, shape: str, instance: str) -> str:
    """.env.example's `shape` of a setting, as this copy's .env holds it."""
    if not shape and key.endswith(SECRET_SUFFIXES):
        return secrets.token_urlsafe(32)
    return shape.replace("{instance}", instance)


def settings(lines: list[str]) -> dict[str, str]:
    pairs = (line.partition("=") for line in lines if not line.startswith("#"))
    return {key: rest for key, sep, rest in pairs if sep}


def add_missing(env: Path) -> None:
    example = settings(Path(".env.example").read_text().splitlines())
    held = settings(env.read_text().splitlines())
    missing = [key for key in example if key not in held]
    if not missing:
        return
    instance = secrets.token_hex(3)
    for key, shape in example.items():  # this copy's id, from a setting that holds it
        if "{instance}" in shape and key in held:
            pattern = re.escape(shape).replace(re.escape("{instance}"), "([0-9a-f]+)")
            if found := re.fullmatch(pattern, held[key]):
                instance = found.group(1)
                break
    added = "".join(f"{key}={valued(key, example[key], instance)}\n" for key in missing)
    text = env.read_text()
    env.write_text(text + ("" if text.endswith("\n") else "\n") + added)
    print(f".env: added {', '.join(missing)} (new in .env.example)")


def main() -> None:
    env = Path(".env")
    if sys.argv[1:] == ["--missing"]:  # a clone without .env gets one from `make env`
        if env.exists():
            add_missing(env)
        return
    if env.exists():
        sys.exit(
            ".env exists already. To start over: `make stack-destroy` if its stack ran"
            " (the stack is named in .env), then delete .env and run this again."
        )
    instance = secrets.token_hex(3)
    lines = []
    for line in Path(".env.example").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            value = valued(key, value, instance)
        lines.append(f"{key}{sep}{value}")
    env.touch(mode=0o600)
    env.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
