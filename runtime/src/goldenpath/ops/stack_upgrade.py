"""The stack's data kept across version changes: the logic of make stack-up and stack-restore.

    python -m goldenpath.ops.stack_upgrade prepare       build the images, start Postgres, and if
                                                   the MLflow pin moved, back up and upgrade
    python -m goldenpath.ops.stack_upgrade restore NAME  the database and auth store as backup
                                                   NAME holds them, and its server's pins

A newer MLflow server refuses an older schema ("Detected out-of-date database schema")
until `mlflow db upgrade` runs. `prepare` runs it, in the new server's image, once a
backup (the tracking database's dump, the auth store, the old server's requirements) is
in the stack-backups volume (compose/postgres/backup.sh); a failed upgrade ends with the
one command that starts the old stack again from it.
Postgres keeps its files in its major version's format: a volume of another major is
refused before anything starts. Run from the project's root, on .env's settings.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from goldenpath.ops.stack import read_env, require

REQUIREMENTS = Path("compose/mlflow/requirements.txt")
PGDATA = "/var/lib/postgresql/data/pgdata"  # compose.yaml's PGDATA


def compose(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", *args], text=True, capture_output=capture)


def compose_output(*args: str) -> str:
    result = compose(*args, capture=True)
    if result.returncode != 0:
        sys.exit(f"error: `docker compose {' '.join(args)}` failed:\n{result.stderr.strip()}")
    return result.stdout


def in_image(*command: str) -> list[str]:
    """`docker compose run` arguments for a one-off command in the mlflow service's image."""
    return ["run", "--rm", "--no-deps", "-T", "--entrypoint", command[0], "mlflow", *command[1:]]


def server_of(image: str) -> tuple[str, str]:
    """(MLflow's version, the requirements.txt it was built from) in an image of the tracking
    server; ("unknown", "") when no such image is here to ask, "" for a file it lacks."""
    script = (  # the path the Dockerfile copies them to
        "import importlib.metadata as m, json, pathlib; p = pathlib.Path('/tmp/requirements.txt');"
        " print(json.dumps([m.version('mlflow'), p.read_text() if p.exists() else '']))"
    )
    result = subprocess.run(
        ["docker", "run", "--rm", "--network=none", "--entrypoint", "python", image, "-c", script],
        capture_output=True,
        text=True,
    )
    return tuple(json.loads(result.stdout)) if result.returncode == 0 else ("unknown", "")


def postgres_majors() -> tuple[str | None, str]:
    """(the major version the database volume's files are in (None: no data yet), the image's)."""
    shell = f"cat {PGDATA}/PG_VERSION 2>/dev/null || echo none; postgres --version"
    run = ["run", "--rm", "--no-deps", "-T", "--entrypoint", "sh", "postgres", "-c", shell]
    lines = compose_output(*run).split("\n")
    image = re.search(r"\) (\d+)", lines[1])
    if not image:
        sys.exit(f"error: cannot tell the postgres image's version from {lines[1]!r}")
    return (None if lines[0].strip() == "none" else lines[0].strip()), image.group(1)


def postgres_major_refusal(found: str, image: str) -> str:
    return (
        f"error: the stack's database volume holds Postgres {found} files, and"
        f" compose/compose.yaml now runs Postgres {image}, which cannot read them.\n"
        "Nothing was started or changed. To keep the data, put back the image it was made"
        f" with:\n  image: postgres:{found}   (services postgres, prediction-store and backup"
        " in compose/compose.yaml)\nthen make stack-up. Moving it to the new major is a dump"
        " and restore by hand: the goldenpath template's runtime/docs/stack.md, 'A new"
        " Postgres major'. To start afresh instead, losing runs and models: make stack-destroy"
    )


def upgrade_failure(before: str, after: str, name: str, where: str) -> str:
    """The one message of a failed upgrade: what failed, the backup, the command back."""
    return (
        f"error: the upgrade of the stack's database from MLflow {before} to {after} failed"
        " (mlflow db upgrade's error above).\n"
        f"The backup taken just before it is {name}: {where}.\n"
        f"To start the old stack (MLflow {before}) again on that data:\n"
        f"  make stack-restore BACKUP={name}\n"
        + (
            f"It puts back the old server's {REQUIREMENTS} (mlflow[auth]=={before})."
            if before != "unknown"  # no image of the old server was left to read it from
            else f"First pin, in {REQUIREMENTS}, the MLflow the stack ran before."
        )
        + f" Once the cause is fixed, pin {after} again and run make stack-up."
    )


def put_back(requirements: str, path: Path = REQUIREMENTS) -> bool:
    """The server's requirements as `requirements`; False if they were already."""
    if path.read_text() == requirements:
        return False
    new = path.with_suffix(".txt.new")  # renamed over it: never half-written
    new.write_text(requirements)
    new.replace(path)
    return True


def backup_place(project: str, name: str) -> str:
    volume = f"{project}_stack-backups"
    mount = subprocess.run(
        ["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", volume],
        capture_output=True,
        text=True,
    ).stdout.strip()
    on_host = f", on Docker's host {mount}/{name}" if mount else ""
    return f"volume {volume}, /backups/{name} in the backup service{on_host}"


def start_postgres() -> None:
    """Postgres up and healthy (after the credentials check, which may refuse and say why)."""
    if compose("up", "-d", "--wait", "postgres").returncode != 0:
        for check in compose_output("ps", "-aq", "credentials-check").split():
            subprocess.run(["docker", "logs", check])
        sys.exit(1)


def prepare() -> None:
    settings = read_env()
    require(settings, "COMPOSE_PROJECT_NAME", "POSTGRES_USER", "POSTGRES_DB")
    project = settings["COMPOSE_PROJECT_NAME"]
    found, image = postgres_majors()
    if found not in (None, image):
        sys.exit(postgres_major_refusal(found, image))
    before, requirements = server_of(f"{project}-mlflow")  # before the build replaces it
    if compose("up", "--no-start", "--build", "postgres", "mlflow").returncode != 0:
        sys.exit("error: building or creating the stack's containers failed (above).")
    start_postgres()
    uri = f"postgresql://{settings['POSTGRES_USER']}@postgres:5432/{settings['POSTGRES_DB']}"
    status = json.loads(
        compose_output(*in_image("python", "/etc/mlflow/schema.py", "status", uri)).splitlines()[-1]
    )
    after, current = status["mlflow"], status["current"]
    if current in (None, status["head"]):
        return
    if not status["known"]:
        sys.exit(
            f"error: the stack's database has schema revision {current}, which MLflow {after}"
            f" (pinned in {REQUIREMENTS}) does not know: a newer MLflow upgraded it. Pin that"
            " newer version again, or put back a backup taken before it: make stack-restore"
            " BACKUP=NAME (make stack-restore alone lists them)."
        )
    name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-mlflow-{before}"
    save = ["docker", "compose", "run", "--rm", "-T", "backup", "save", name, before]
    if subprocess.run(save, input=requirements, text=True).returncode != 0:
        sys.exit(
            "error: the backup before the database's upgrade failed (above), so nothing was"
            " upgraded. Fix the cause and run make stack-up again; meanwhile the old stack"
            f" starts with mlflow[auth]=={before} pinned in {REQUIREMENTS}."
        )
    where = backup_place(project, name)
    print(f"Backup of the stack's database (MLflow {before}): {name}\n  {where}")
    print(f"Upgrading the database to MLflow {after}'s schema ({current} -> {status['head']})")
    if compose(*in_image("python", "/etc/mlflow/schema.py", "upgrade", uri)).returncode != 0:
        sys.exit(upgrade_failure(before, after, name, where))
    print(f"Database upgraded to MLflow {after}; the backup stays in the volume.")


def restore(name: str) -> None:
    settings = read_env()
    require(settings, "COMPOSE_PROJECT_NAME", "POSTGRES_USER", "POSTGRES_DB")
    backups = compose_output("run", "--rm", "-T", "backup", "list").split()
    if name not in backups:
        problem = f"no backup {name!r} in" if name else "name the backup (BACKUP=NAME) from"
        sys.exit(
            f"error: {problem} volume {settings['COMPOSE_PROJECT_NAME']}_stack-backups, which"
            " holds: " + (", ".join(backups) or "none yet") + "\n  make stack-restore BACKUP=NAME"
        )
    version = compose_output("run", "--rm", "-T", "backup", "version", name).strip()
    requirements = compose_output("run", "--rm", "-T", "backup", "requirements", name)
    if not requirements:  # no image of the old server was left to read them from
        print(f"Backup {name} does not say which MLflow wrote it: pin that one in {REQUIREMENTS}.")
    elif put_back(requirements):
        print(f"{REQUIREMENTS}: the backup's server's again (mlflow[auth]=={version})")
    compose_output("rm", "--stop", "--force", "mlflow")
    start_postgres()
    if compose("run", "--rm", "-T", "backup", "restore", name).returncode != 0:
        sys.exit(f"error: restoring {name} failed (above); the database is as it was before.")
    print(f"The stack's database and auth store are as backup {name} holds them.")


def main() -> None:
    if sys.argv[1:] == ["prepare"]:
        prepare()
    elif sys.argv[1:2] == ["restore"] and len(sys.argv) == 3:
        restore(sys.argv[2])  # an empty name: the message lists the backups
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
