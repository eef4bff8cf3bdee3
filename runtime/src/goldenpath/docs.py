"""`python -m goldenpath.docs`: the runtime's README, for the version this project runs.

A project holds the runtime as a package, not its repository: the README (the API, the
contract's kinds of feature, the commands) travels in the package's metadata.
"""

import sys
from importlib.metadata import metadata


def readme() -> str:
    described = metadata("goldenpath")
    return described.get_payload() or described.get("Description", "")  # type: ignore[attr-defined]


if __name__ == "__main__":
    try:
        sys.stdout.write(readme())
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        sys.stderr.close()
