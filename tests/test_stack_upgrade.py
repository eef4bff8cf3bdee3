"""Stack upgrades keep the data: a stack on an older MLflow, with runs and a champion in it,
moved to the pinned MLflow by `make stack-up`; a failed upgrade put back with the command
it prints; a database volume of another Postgres major refused. Run for real with Docker.

The tests run in file order on one stack: each leaves it as the next expects.
"""

import base64
import json
import re
import shlex
import urllib.request
from pathlib import Path

import pytest

from .conftest import TEMPLATE, bake_for_the_stack, on_stack, read_env, run

pytestmark = pytest.mark.slow
OLD = "3.5.1"  # schema head bf29a5ff90ea; the pinned 3.17.2's is dc11669786a5, 27 migrations on
REQUIREMENTS = Path("compose/mlflow/requirements.txt")
# A table that a migration between the two (89d3d66ed43f, "add label_schemas table") creates.
IN_THE_WAY = "label_schemas"

POPULATE = """
import mlflow, numpy as np
from sklearn.linear_model import LinearRegression
mlflow.set_experiment("upgrade-check")
X = np.arange(20, dtype=float).reshape(10, 2)
for i in range(3):
    with mlflow.start_run():
        mlflow.log_param("i", i)
        mlflow.log_metric("mae", 0.5 + i)
        mlflow.log_text(f"notes of run {i}", "notes/run.txt")
        model = LinearRegression().fit(X, X @ [1.5, -2.0] + i)
        mlflow.sklearn.log_model(model, name="model", registered_model_name="upgrade-check")
client = mlflow.MlflowClient()
client.set_registered_model_alias("upgrade-check", "champion", "2")
client.set_registered_model_alias("upgrade-check", "challenger", "3")
print('"populated"')
"""

# What must survive: counted, every artifact file's digest, and the champion's predictions.
INVENTORY = """
import hashlib, json, tempfile, mlflow, numpy as np
from pathlib import Path
from mlflow.entities import ViewType
client = mlflow.MlflowClient()
experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
runs = client.search_runs(experiments, run_view_type=ViewType.ALL)
versions = client.search_model_versions()
aliases = [f"{m.name}@{a}" for m in client.search_registered_models() for a in m.aliases]
def files(uri):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder))
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in root.rglob("*") if p.is_file()}
artifacts = {}
for r in runs:
    artifacts |= {f"run {r.info.run_id}/{k}": h for k, h in files(r.info.artifact_uri).items()}
for v in versions:
    artifacts |= {f"{v.name} v{v.version}/{k}": h for k, h in files(v.source).items()}
champion = mlflow.pyfunc.load_model("models:/upgrade-check@champion")
print(json.dumps({
    "counts": {"runs": len(runs), "model versions": len(versions), "aliases": len(aliases),
               "artifacts": len(artifacts)},
    "runs": sorted(r.info.run_id for r in runs), "aliases": sorted(aliases),
    "artifacts": artifacts,
    "champion predicts": champion.predict(np.ones((2, 2))).round(6).tolist(),
}))
"""


def on_the_stack(project: Path, script: str):
    """What `script` prints last, as JSON, run with MLflow's client on the project's stack."""
    result = run(f"uv run --frozen python -c {shlex.quote(script)}", project, **on_stack(project))
    return json.loads(result.stdout.splitlines()[-1])


def server_version(project: Path) -> str:
    env = read_env(project)
    request = urllib.request.Request(f"http://127.0.0.1:{env['MLFLOW_PORT']}/version")
    token = f"{env['MLFLOW_TRACKING_USERNAME']}:{env['MLFLOW_TRACKING_PASSWORD']}"
    request.add_header("Authorization", f"Basic {base64.b64encode(token.encode()).decode()}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode().strip()


def sql(project: Path, statement: str) -> str:
    """`statement` in the tracking database, as its admin, on the server's own socket."""
    env = read_env(project)
    psql = f"psql -qtA -v ON_ERROR_STOP=1 -U {env['POSTGRES_USER']} -d {env['POSTGRES_DB']}"
    command = f"docker compose exec -T postgres {psql} -c {shlex.quote(statement)}"
    return run(command, project).stdout.strip()


def old_requirements(new: str) -> str:
    """The server's requirements.txt as a stack on MLflow OLD, built today, needs it."""
    old = re.sub(r"^mlflow\[auth\]==\S+$", f"mlflow[auth]=={OLD}", new, flags=re.M)
    assert old != new
    # OLD imports a pool class that SQLAlchemy 2.1, released after it, no longer has; and
    # SQLAlchemy 2.0 connects postgresql:// with psycopg2 (2.1 with psycopg 3).
    return old + "sqlalchemy<2.1\npsycopg2-binary==2.9.11\n"


def new_requirements() -> str:
    return (TEMPLATE / REQUIREMENTS).read_text()


def make_stack_up(project: Path, check: bool = True):
    result = run("make stack-up", project, check=check)
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")  # shown with -s or on failure
    return result


@pytest.fixture(scope="module")
def old_stack(engine, tmp_path_factory) -> Path:
    """A stack on MLflow OLD with three runs, their three registered versions, two aliases."""
    project = bake_for_the_stack(tmp_path_factory.mktemp("stack-upgrade"))
    new = (project / REQUIREMENTS).read_text()
    assert "mlflow[auth]==3.17.2\n" in new
    (project / REQUIREMENTS).write_text(old_requirements(new))
    run("make setup", project)
    try:
        make_stack_up(project)
        assert server_version(project) == OLD
        assert on_the_stack(project, POPULATE) == "populated"
        yield project
    finally:
        run("make stack-destroy", project, check=False)


@pytest.fixture(scope="module")
def before(old_stack: Path) -> dict:
    inventory = on_the_stack(old_stack, INVENTORY)
    print(f"\nMLflow {OLD}, before: {inventory['counts']}")
    assert inventory["counts"] == {
        "runs": 3,
        "model versions": 3,
        "aliases": 2,
        "artifacts": inventory["counts"]["artifacts"],
    }
    assert inventory["counts"]["artifacts"] >= 3 * 5  # notes, MLmodel, model.pkl, envs, each
    return inventory


def test_a_failed_upgrade_says_how_back_and_the_old_stack_starts_from_the_backup(
    old_stack: Path, before: dict
) -> None:
    sql(old_stack, f"CREATE TABLE {IN_THE_WAY} (id integer)")  # the migration's CREATE fails
    requirements = old_stack / REQUIREMENTS
    old = requirements.read_text()
    requirements.write_text(new_requirements())
    failed = make_stack_up(old_stack, check=False)
    assert failed.returncode != 0
    assert f'relation "{IN_THE_WAY}" already exists' in failed.stderr
    message = failed.stderr[failed.stderr.index("error: the upgrade of the stack's database") :]
    name = re.search(r"The backup taken just before it is (\S+):", message)[1]
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-mlflow-{re.escape(OLD)}", name)
    assert f"volume {read_env(old_stack)['COMPOSE_PROJECT_NAME']}_stack-backups" in message
    commands = re.findall(r"^  (make .+)$", message, re.M)
    assert commands == [f"make stack-restore BACKUP={name}"]
    # Worse than this failure leaves it (one transaction): as a half-done upgrade would.
    sql(old_stack, "UPDATE alembic_version SET version_num = '1bd49d398cd23'")
    sql(old_stack, "DELETE FROM registered_model_aliases")
    for command in commands:  # exactly what the message says
        run(command, old_stack)
    assert requirements.read_text() == old
    assert server_version(old_stack) == OLD
    after = on_the_stack(old_stack, INVENTORY)
    print(f"\nMLflow {OLD} restored from {name}: {after['counts']}")
    assert after == before


def test_an_upgrade_keeps_runs_versions_aliases_and_artifacts(
    old_stack: Path, before: dict
) -> None:
    sql(old_stack, f"DROP TABLE {IN_THE_WAY}")  # the cause of the failure, fixed
    (old_stack / REQUIREMENTS).write_text(new_requirements())
    upgraded = make_stack_up(old_stack).stdout
    name = re.search(r"Backup of the stack's database \(MLflow 3\.5\.1\): (\S+)", upgraded)[1]
    assert f"/backups/{name}" in upgraded
    assert "Database upgraded to MLflow 3.17.2" in upgraded
    assert server_version(old_stack) == "3.17.2"
    after = on_the_stack(old_stack, INVENTORY)
    print(f"\nMLflow 3.17.2, after the upgrade: {after['counts']}")
    assert after == before
    again = make_stack_up(old_stack).stdout  # nothing to upgrade: no backup either
    assert "Backup" not in again and server_version(old_stack) == "3.17.2"
    listed = run("make stack-restore", old_stack, check=False)
    assert listed.returncode != 0 and name in listed.stderr  # both backups, kept


def test_a_volume_of_another_postgres_major_is_refused_untouched(
    old_stack: Path, before: dict
) -> None:
    run("make stack-down", old_stack)
    files_of = "sh postgres -c 'echo {} > /var/lib/postgresql/data/pgdata/PG_VERSION'"
    as_made_by = f"docker compose run --rm --no-deps -T --entrypoint {files_of}"
    run(as_made_by.format(15), old_stack)  # what a postgres:15 volume says of itself
    refused = make_stack_up(old_stack, check=False)
    assert refused.returncode != 0
    assert (
        "holds Postgres 15 files, and compose/compose.yaml now runs Postgres 17" in refused.stderr
    )
    assert "image: postgres:15" in refused.stderr and "make stack-destroy" in refused.stderr
    assert "running" not in run("docker compose ps --all --format '{{.State}}'", old_stack).stdout
    run(as_made_by.format(17), old_stack)
    make_stack_up(old_stack)
    assert on_the_stack(old_stack, INVENTORY) == before


def test_stack_destroy_deletes_the_backups_too(old_stack: Path) -> None:
    label = f"label=com.docker.compose.project={read_env(old_stack)['COMPOSE_PROJECT_NAME']}"
    volumes = f"docker volume ls -q --filter {label}"
    assert "_stack-backups" in run(volumes, old_stack).stdout
    run("make stack-destroy", old_stack)
    assert run(volumes, old_stack).stdout.strip() == ""
