"""goldenpath.ops.stack_upgrade's decisions, on a scripted Docker (the template's
tests/test_stack_upgrade.py runs them on a real one)."""

import json
import subprocess
from pathlib import Path

import pytest

from goldenpath.ops import stack_upgrade

OLD_REQUIREMENTS = "mlflow[auth]==3.5.1\nsqlalchemy<2.1\n"
NEW_REQUIREMENTS = "mlflow[auth]==3.17.2\npsycopg[binary]==3.3.9\n"


# How Docker answers for a stack on MLflow 3.5.1 and Postgres 17, unless a test says otherwise.
USUAL = {
    "PG_VERSION": (0, "17\npostgres (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)\n"),
    "--network=none": (0, json.dumps(["3.5.1", OLD_REQUIREMENTS])),
    "volume inspect": (0, "/var/lib/docker/volumes/eta-1_stack-backups/_data\n"),
}


class Docker:
    """Answers each docker command by the first fragment of the script that it contains."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = [*answers.items(), *USUAL.items()]
        self.calls: list[str] = []

    def __call__(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        line = " ".join(command)
        self.calls.append(line)
        code, out = next((a for key, a in self.answers if key in line), (0, ""))
        return subprocess.CompletedProcess(command, code, out, "scripted failure" if code else "")

    def ran(self, fragment: str) -> bool:
        return any(fragment in call for call in self.calls)


def status(current: str | None, known: bool = True) -> tuple[int, str]:
    answer = {"mlflow": "3.17.2", "head": "dc11669786a5", "current": current, "known": known}
    return 0, json.dumps(answer) + "\n"


@pytest.fixture
def stack_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=eta-1\nPOSTGRES_USER=u\nPOSTGRES_DB=d\n")
    (tmp_path / "compose" / "mlflow").mkdir(parents=True)
    (tmp_path / stack_upgrade.REQUIREMENTS).write_text(NEW_REQUIREMENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def script(monkeypatch: pytest.MonkeyPatch, answers: dict[str, tuple[int, str]]) -> Docker:
    docker = Docker(answers)
    monkeypatch.setattr(subprocess, "run", docker)
    return docker


def test_a_schema_at_the_pinned_head_starts_without_a_backup(stack_root, monkeypatch) -> None:
    docker = script(monkeypatch, {"schema.py status": status("dc11669786a5")})
    stack_upgrade.prepare()
    assert docker.ran("up --no-start --build postgres mlflow")
    assert not docker.ran("backup save") and not docker.ran("schema.py upgrade")


def test_a_fresh_database_starts_without_a_backup(stack_root, monkeypatch) -> None:
    docker = script(monkeypatch, {"schema.py status": status(None)})
    stack_upgrade.prepare()
    assert not docker.ran("backup save")


def test_an_older_schema_is_backed_up_then_upgraded(stack_root, monkeypatch, capsys) -> None:
    docker = script(monkeypatch, {"schema.py status": status("bf29a5ff90ea")})
    stack_upgrade.prepare()
    save = next(call for call in docker.calls if "backup save" in call)
    assert save.endswith("-mlflow-3.5.1 3.5.1")
    assert docker.calls.index(save) < next(
        i for i, call in enumerate(docker.calls) if "schema.py upgrade" in call
    )
    out = capsys.readouterr().out
    assert "/var/lib/docker/volumes/eta-1_stack-backups/_data/" in out
    assert "Database upgraded to MLflow 3.17.2" in out


def test_a_failed_upgrade_names_the_backup_and_the_command_back(stack_root, monkeypatch) -> None:
    script(monkeypatch, {"schema.py status": status("bf29a5ff90ea"), "schema.py upgrade": (1, "")})
    with pytest.raises(SystemExit) as failed:
        stack_upgrade.prepare()
    message = str(failed.value)
    name = message.split("The backup taken just before it is ", 1)[1].split(":", 1)[0]
    assert name.endswith("Z-mlflow-3.5.1")
    assert f"\n  make stack-restore BACKUP={name}\n" in message
    assert "from MLflow 3.5.1 to 3.17.2 failed" in message


def test_a_failed_backup_upgrades_nothing(stack_root, monkeypatch) -> None:
    docker = script(
        monkeypatch, {"schema.py status": status("bf29a5ff90ea"), "backup save": (1, "")}
    )
    with pytest.raises(SystemExit, match="so nothing was upgraded"):
        stack_upgrade.prepare()
    assert not docker.ran("schema.py upgrade")


def test_a_schema_newer_than_the_pin_is_refused(stack_root, monkeypatch) -> None:
    docker = script(monkeypatch, {"schema.py status": status("ffffffffffff", known=False)})
    with pytest.raises(SystemExit, match=r"which MLflow 3\.17\.2 .* does not know"):
        stack_upgrade.prepare()
    assert not docker.ran("backup save")


def test_another_postgres_major_is_refused_before_anything_starts(stack_root, monkeypatch) -> None:
    docker = script(monkeypatch, {"PG_VERSION": (0, "15\npostgres (PostgreSQL) 17.12\n")})
    with pytest.raises(SystemExit) as refused:
        stack_upgrade.prepare()
    assert "holds Postgres 15 files" in str(refused.value)
    assert "image: postgres:15" in str(refused.value)
    assert not docker.ran(" up ")


def test_restore_puts_back_the_old_servers_requirements(stack_root, monkeypatch) -> None:
    docker = script(
        monkeypatch,
        {
            "backup list": (0, "20261204T041500Z-mlflow-3.5.1\n"),
            "backup version": (0, "3.5.1\n"),
            "backup requirements": (0, OLD_REQUIREMENTS),
        },
    )
    stack_upgrade.restore("20261204T041500Z-mlflow-3.5.1")
    assert (stack_root / stack_upgrade.REQUIREMENTS).read_text() == OLD_REQUIREMENTS
    assert docker.ran("backup restore 20261204T041500Z-mlflow-3.5.1")


def test_restore_of_an_unknown_backup_lists_the_ones_there(stack_root, monkeypatch) -> None:
    docker = script(monkeypatch, {"backup list": (0, "20261204T041500Z-mlflow-3.5.1\n")})
    with pytest.raises(SystemExit, match=r"no backup 'nope' .* holds: 20261204T041500Z-mlflow"):
        stack_upgrade.restore("nope")
    assert (stack_root / stack_upgrade.REQUIREMENTS).read_text() == NEW_REQUIREMENTS
    assert not docker.ran("backup restore")
