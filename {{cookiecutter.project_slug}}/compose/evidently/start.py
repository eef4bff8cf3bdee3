"""Start the Evidently UI with its write secret read from a file (a compose secret).

    python /etc/evidently/start.py      (the image's entrypoint)

The secret guards writing snapshots (make monitor-on-stack sends EVIDENTLY_SECRET_KEY);
it is given to the service in-process: not on a command line, not in the environment.
"""

import sys
from pathlib import Path

from evidently.ui.service.app import get_config, run

SECRET = Path("/run/secrets/evidently_secret_key")


def main() -> None:
    secret = SECRET.read_text().rstrip("\n")
    if not secret:  # Evidently would take an empty secret for none: anyone could write
        sys.exit("EVIDENTLY_SECRET_KEY is empty in .env: give it a value (make env generates one)")
    run(get_config(host="0.0.0.0", port=8000, workspace="/workspace", secret=secret))


if __name__ == "__main__":
    main()
