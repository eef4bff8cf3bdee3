"""Write .env from .env.example, generating every empty *_PASSWORD and *_SECRET_KEY.

    python3 scripts/new_env.py      (or: make env)

Run once per clone: .env is gitignored. An existing .env is never overwritten.
"""

import secrets
import sys
from pathlib import Path

SECRET_SUFFIXES = ("_PASSWORD", "_SECRET_KEY")


def main() -> None:
    env = Path(".env")
    if env.exists():
        sys.exit(".env exists already; delete it first to generate new secrets.")
    lines = []
    for line in Path(".env.example").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not value and key.endswith(SECRET_SUFFIXES):
            value = secrets.token_urlsafe(32)
        lines.append(f"{key}{sep}{value}")
    env.touch(mode=0o600)
    env.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
