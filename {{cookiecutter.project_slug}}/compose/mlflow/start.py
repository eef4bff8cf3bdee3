"""Start `mlflow server` with its credentials read from files (compose secrets).

    python /etc/mlflow/start.py SERVER_OPTIONS...      (the image's entrypoint)

The database password goes to libpq in a password file, so the backend store URI
carries none; the admin password goes into a private copy of the auth configuration.
Neither appears on a command line or in any process's environment. The Flask secret
key is the exception: MLflow reads it only from the environment, so the server's
processes inherit it (readable by their own user and root, not in `docker inspect`).
"""

import configparser
import io
import os
import sys
import tempfile
from pathlib import Path

SECRETS = Path("/run/secrets")
AUTH_CONFIG = Path("/etc/mlflow/basic_auth.ini")


def secret(name: str) -> str:
    return (SECRETS / name).read_text().rstrip("\n")


def private_file(path: Path, text: str) -> Path:
    """A file only this user may read (libpq ignores a password file others can read)."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    return path


def pgpass_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def private_folder() -> Path:
    private = Path(tempfile.gettempdir()) / "mlflow-credentials"
    private.mkdir(mode=0o700, exist_ok=True)
    return private


def database_password_file() -> Path:
    """The database's password in a libpq password file (schema.py uses it too)."""
    pgpass = f"*:*:*:*:{pgpass_field(secret('postgres_password'))}\n"
    return private_file(private_folder() / "pgpass", pgpass)


def main() -> None:
    private = private_folder()
    auth = configparser.ConfigParser()
    auth.read(AUTH_CONFIG)
    auth["mlflow"]["admin_password"] = secret("mlflow_admin_password").replace("%", "%%")
    # The admin's name in the file too: older servers (3.5 and 3.7 among them) read it only there,
    # and a stack restored from a backup made before an upgrade runs one of those again.
    auth["mlflow"]["admin_username"] = os.environ["MLFLOW_AUTH_ADMIN_USERNAME"].replace("%", "%%")
    auth_text = io.StringIO()
    auth.write(auth_text)
    os.environ |= {
        "PGPASSFILE": str(database_password_file()),
        "MLFLOW_AUTH_CONFIG_PATH": str(private_file(private / "auth.ini", auth_text.getvalue())),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret("mlflow_flask_secret_key"),
    }
    os.execvp("mlflow", ["mlflow", "server", *sys.argv[1:]])


if __name__ == "__main__":
    main()
