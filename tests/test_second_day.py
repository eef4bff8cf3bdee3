"""The second day: a fresh clone, a renamed folder, own data, a branch with a new feature.

Slow: these share the trained project of conftest.py with test_project.py, and
put it back as they found it.
"""

import json
import re
from pathlib import Path

import pytest

from .conftest import DVC, ask_registry, restore, run

pytestmark = pytest.mark.slow
NEW_FEATURE = """\
        Feature("basket_value", "Value of the order, euros", float, 1.0, 500.0),
"""


def smoke(project: Path, **env: str) -> dict:
    return json.loads(run("make smoke", project, **env).stdout.split("-> ", 1)[1])


def test_a_fresh_clone_serves_the_commits_model_without_retraining(trained, tmp_path) -> None:
    expected = smoke(trained)
    run(f"{DVC} push -q", trained)
    clone = tmp_path / "clone"
    run(f"git clone -q {trained} {clone}", tmp_path)
    run("make setup", clone)
    run(f"{DVC} pull -q", clone)
    for path in ("data/raw/table.parquet", "data/split/train.parquet", "models/champion"):
        original = trained / path
        files = [p for p in original.rglob("*") if p.is_file()] if original.is_dir() else [original]
        for file in files:
            copy = clone / file.relative_to(trained)
            assert copy.read_bytes() == file.read_bytes(), file
    assert smoke(clone) == expected
    assert "Data and pipelines are up to date." in run(f"{DVC} status", clone).stdout
    assert "Running stage" not in run("make repro", clone).stdout
    # Forcing the gate in the clone: its store has no runs yet, so it registers nothing.
    forced = run(f"{DVC} repro --force --single-item register", clone).stdout
    assert "is not in this MLflow store: nothing registered" in forced
    assert smoke(clone) == expected


def test_after_a_rename_lightgbm_trains_on_a_local_table_and_serves(trained: Path) -> None:
    renamed = trained.with_name(trained.name + "-renamed")
    head = run("git rev-parse HEAD", trained).stdout.strip()
    trained.rename(renamed)
    try:
        assert smoke(renamed)["model_version"] == "1"
        run("git commit -q --allow-empty -m 'After the move'", renamed)  # the git hooks run
        table = "data/external/local.parquet"
        script = (
            "import pandas as pd; pd.read_parquet('data/raw/table.parquet', use_threads=False)"
            f".sample(4000, random_state=1).to_parquet('{table}')"
        )
        run(f'uv run --frozen python -c "{script}"', renamed)
        run(f"{DVC} add -q {table}", renamed)
        run(f"{DVC} exp run -S model=lightgbm -S data.source={table}", renamed)
        decision = json.loads((renamed / "reports" / "registration.json").read_text())
        version = decision["candidate"]["version"]
        assert version is not None
        uri = f"client.get_run('{decision['candidate']['run_id']}').info.artifact_uri"
        assert ask_registry(renamed, uri).startswith(f"file://{renamed}/.mlflow/")
        assert smoke(renamed, MODEL_URI="models/trained/model")["delivery_minutes"][0] > 0
        for path in ("dvc.lock", "params.yaml", "models/champion/champion.json"):
            assert str(trained) not in (renamed / path).read_text(), path
    finally:
        restore(renamed, head)
        renamed.rename(trained)


def test_a_branch_with_own_data_and_a_new_feature_leaks_nothing_to_main(
    trained: Path, web_folder
) -> None:
    folder, url = web_folder
    run("git checkout -q -b own-data", trained)
    try:
        # Their own table: Parquet, behind a URL, another distribution, one more feature.
        script = (
            "import pandas as pd;"
            " t = pd.read_parquet('data/raw/table.parquet', use_threads=False).head(5000);"
            " t['distance_km'] = (t['distance_km'] * 1.6).clip(0.1, 30.0);"
            " t['basket_value'] = (8 * t['items'] + 3.5).round(2);"
            " t['delivery_minutes'] = (t['delivery_minutes'] + t['basket_value'] / 40)"
            ".clip(1, 240);"
            f" t.to_parquet('{folder / 'orders.parquet'}')"
        )
        run(f'uv run --frozen python -c "{script}"', trained)
        usecase = trained / "src" / "eta_predictor" / "usecase.py"
        text = usecase.read_text()
        anchor = '        Feature(\n            "city",'
        text = text.replace(anchor, NEW_FEATURE + anchor, 1)
        example = '        "city": "lisbon",\n'
        usecase.write_text(text.replace(example, '        "basket_value": 24.5,\n' + example))
        run(f"{DVC} import-url -q {url}/orders.parquet data/external/", trained)
        config = trained / "conf" / "data" / "default.yaml"
        source = f"source: {url}/orders.parquet"
        config.write_text(re.sub(r"^source: synthetic$", source, config.read_text(), flags=re.M))
        run("make repro", trained)
        decision = json.loads((trained / "reports" / "registration.json").read_text())
        assert decision["promoted"]
        assert any("'basket_value'" in note for note in decision["notes"]), decision["notes"]
        assert run("make test", trained).returncode == 0  # no test edits for a new feature
        run("git add -A && git commit -qm 'Own data with basket value'", trained)
        branch_model = smoke(trained)
        assert branch_model["model_version"] == str(decision["candidate"]["version"])

        run("git checkout -q main", trained)  # the post-checkout hook runs `dvc checkout`
        assert smoke(trained)["model_version"] == "1"
        on_registry = run(
            "make smoke", trained, check=False, MODEL_URI="models:/eta-predictor@champion"
        )
        assert on_registry.returncode != 0
        message = on_registry.stdout + on_registry.stderr
        assert "not ready" in message and "'basket_value'" in message and "make repro" in message
        assert "500" not in message
    finally:
        run("git checkout -q -f main", trained)
        restore(trained)
        run("git branch -q -D own-data", trained)
        champion = "client.set_registered_model_alias('eta-predictor', 'champion', '1')"
        ask_registry(trained, champion)
