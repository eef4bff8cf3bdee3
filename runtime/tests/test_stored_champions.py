"""Champions saved by earlier releases (fixtures/champion-X.Y.0/) still load and serve."""

import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from packaging.version import Version

import goldenpath
from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.serving.app import create_app

from .champions import EXPECTED
from .usecase import CONTRACT

FIXTURES = Path(__file__).parent / "fixtures"
STORED = sorted(FIXTURES.glob("champion-*"), key=lambda path: Version(path.name.split("-")[1]))


def test_the_previous_minor_releases_champion_is_stored() -> None:
    """A minor release adds its own (fixtures/README.md): the next one tests against it."""
    current = Version(goldenpath.__version__)
    previous = f"{current.major}.{max(current.minor - 1, 0)}.0"  # X.0's own, for X.0
    assert (FIXTURES / f"champion-{previous}").is_dir(), f"add fixtures/champion-{previous}"
    assert all(re.fullmatch(r"champion-\d+\.\d+\.0", path.name) for path in STORED)


@pytest.mark.parametrize("stored", STORED, ids=lambda path: path.name)
def test_a_stored_champion_loads_and_serves_what_it_predicted(stored: Path, tmp_path) -> None:
    expected = json.loads((stored / EXPECTED).read_text())
    assert stored.name == f"champion-{expected['saved_by']}"
    champion = shutil.copytree(stored, tmp_path / "champion")  # as `dvc pull` brings it
    record = ChampionRecord.read(champion)
    model_io.check_fits(str(champion), CONTRACT, stored.name)
    with TestClient(create_app(str(champion))) as client:
        assert client.get("/ready").json() == {"ready": True}
        answer = client.post("/predict", json=expected["example"])
        version = client.get("/version").json()
    assert answer.status_code == 200, answer.text
    predicted = answer.json()[CONTRACT.target.name]
    assert predicted == pytest.approx([expected[CONTRACT.target.name]], abs=0.01)
    assert (version["model_name"], version["model_version"]) == (
        record.model_name,
        record.model_version,
    )
