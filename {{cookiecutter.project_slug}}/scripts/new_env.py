"""Write .env from .env.example: new secrets, and an id for this copy of the project.

    python3 scripts/new_env.py      (or: make env)

Every empty *_PASSWORD and *_SECRET_KEY gets a generated value, and `{instance}` a
random id, so the stack's names (compose project, volumes, image) are this copy's own.
Run once per clone: .env is gitignored. An existing .env is never overwritten.
"""

import secrets
import sys
from pathlib import Path

SECRET_SUFFIXES = ("_PASSWORD", "_SECRET_KEY")


def main() -> None:
    env = Path(".env")
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
            if not value and key.endswith(SECRET_SUFFIXES):
                value = secrets.token_urlsafe(32)
            value = value.replace("{instance}", instance)
        lines.append(f"{key}{sep}{value}")
    env.touch(mode=0o600)
    env.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
