"""The tracking database's schema against this image's MLflow (`make stack-up`, before the server).

    python /etc/mlflow/schema.py status URI    one JSON line: this MLflow's version, its schema
                                             head, the database's revision (null: no tables
                                             yet) and whether this MLflow knows that revision
    python /etc/mlflow/schema.py upgrade URI   `mlflow db upgrade URI` (one transaction on
                                             Postgres, but MLflow promises no such thing:
                                             the laptop's side takes a backup first)

The server refuses a database whose revision is not its head; this tells the laptop's
side (goldenpath.ops.stack_upgrade) whether to back up and upgrade first. The password
reaches libpq in a private password file, as start.py hands it to the server.
"""

import json
import os
import sys
from importlib.metadata import version

from start import database_password_file


def status(uri: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config, create_sqlalchemy_engine

    script = ScriptDirectory.from_config(_get_alembic_config(uri))
    with create_sqlalchemy_engine(uri).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    print(
        json.dumps(
            {
                "mlflow": version("mlflow"),
                "head": script.get_current_head(),
                "current": current,
                "known": current is None or current in known,
            }
        )
    )


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("status", "upgrade"):
        sys.exit(__doc__)
    command, uri = sys.argv[1:]
    os.environ["PGPASSFILE"] = str(database_password_file())
    if command == "status":
        status(uri)
    else:
        os.execvp("mlflow", ["mlflow", "db", "upgrade", uri])


if __name__ == "__main__":
    main()
