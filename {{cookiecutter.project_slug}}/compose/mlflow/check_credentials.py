"""Refuse to start the stack on volumes initialised with other credentials than .env's.

    python /etc/mlflow/check_credentials.py      (the credentials-check service)

Postgres and MLflow's auth store keep the credentials they were first started with
and ignore new ones, so a changed .env meeting old volumes would end in "password
authentication failed" or a 401 for every login. The first start records, at the top
of each volume, a salted hash of the credentials it is initialised with; every later
start compares .env's against that record and stops, saying what to do, on a mismatch.
"""

import hashlib
import hmac
import json
import os
import secrets
import sys
from pathlib import Path

RECORD = "stack-credentials.json"
ITERATIONS = 200_000


def secret(name: str) -> str:
    return Path("/run/secrets", name).read_text().rstrip("\n")


def volumes() -> dict[str, tuple[Path, dict[str, str]]]:
    """Each volume: where it is mounted here, and the .env settings it was made with."""
    return {
        "postgres-data": (
            Path("/var/lib/postgresql/data"),
            {
                "POSTGRES_USER": os.environ["POSTGRES_USER"],
                "POSTGRES_DB": os.environ["POSTGRES_DB"],
                "POSTGRES_PASSWORD": secret("postgres_password"),
            },
        ),
        "mlflow-data": (
            Path("/mlflow"),
            {
                "MLFLOW_TRACKING_USERNAME": os.environ["MLFLOW_AUTH_ADMIN_USERNAME"],
                "MLFLOW_TRACKING_PASSWORD": secret("mlflow_admin_password"),
            },
        ),
    }


def fingerprint(settings: dict[str, str], salt: bytes) -> str:
    material = json.dumps(settings, sort_keys=True).encode()
    return hashlib.pbkdf2_hmac("sha256", material, salt, ITERATIONS).hex()


def matches(record: Path, settings: dict[str, str]) -> bool:
    """True when `record` holds `settings`; a volume without a record gets one now."""
    if record.exists():
        saved = json.loads(record.read_text())
        expected = fingerprint(settings, bytes.fromhex(saved["salt"]))
        return hmac.compare_digest(saved["pbkdf2_sha256"], expected)
    salt = secrets.token_bytes(16)
    record.write_text(
        json.dumps({"salt": salt.hex(), "pbkdf2_sha256": fingerprint(settings, salt)})
    )
    return True


def main() -> None:
    stack = volumes()
    empty = [key for _, settings in stack.values() for key, value in settings.items() if not value]
    if empty:
        sys.exit(f"{', '.join(empty)} empty in .env: give each a value (make env generates them).")
    stale = [
        f"  volume {name}: {', '.join(settings)}"
        for name, (mount, settings) in stack.items()
        if not matches(mount / RECORD, settings)
    ]
    if stale:
        sys.exit(
            "The stack's volumes were initialised with other credentials than .env holds now:\n"
            + "\n".join(stale)
            + "\nTheir servers keep the first credentials and would refuse these. Either put back"
            " the .env\nthey were made with, or delete the volumes and all in them (runs, models,"
            " data):\n  make stack-destroy"
        )


if __name__ == "__main__":
    main()
