"""Copy the model to serve into build/ for the serving image, with what its labels say.

    python -m goldenpath.serving.export [MODEL_URI] [DEST]

MODEL_URI defaults to the champion (models/champion/, or a `models:/` URI with
MLFLOW_TRACKING_URI); the image then needs no registry at start. Next to DEST
(build/model), `trusted-types.json`: the module prefixes the project's conf/ trusts a
model to hold (core/model_io.py), which the image, without conf/, loads its model with.
It is written from conf/ after the model is copied, outside the model's directory: a
model, from a registry or anywhere else, cannot say what it is trusted with.
"""

import sys
from pathlib import Path

from ..core import model_io
from ..core.champion import install_champion
from ..core.problems import report_problems
from ..core.project import use_case
from ..core.registry import Registry
from ..core.tracking import embedded_store
from .model import default_model_uri, load_served_model

BUILD_DIR = Path("build")


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else default_model_uri()
    destination = Path(sys.argv[2]) if len(sys.argv) > 2 else BUILD_DIR / "model"
    served = load_served_model(uri, use_case().contract)  # fails with advice when unusable
    destination.parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith("models:/"):
        embedded_store()
        registry = Registry(served.record.model_name)
        registry.fetch(registry.resolve(uri), destination)
    else:
        install_champion(Path(uri), destination, served.record)
    record = served.record
    build_args = {
        "GIT_COMMIT": record.git_commit,
        "MODEL_NAME": record.model_name,
        "MODEL_VERSION": record.model_version,
        "RUN_ID": record.run_id,
        "DATA_MD5": record.data_md5,
    }
    (destination.parent / "build-args").write_text(
        "".join(f"{key}={value}\n" for key, value in build_args.items())
    )
    trust_file = destination.parent / model_io.TRUST_FILE_NAME
    trusted = model_io.write_trust_file(trust_file)
    print(
        f"exported {record.model_name} version {record.model_version} from {uri} to {destination};"
        f" {trust_file}: trusted besides scikit-learn, NumPy, SciPy and the project's own code: "
        + (", ".join(trusted) or "nothing")
    )


if __name__ == "__main__":
    report_problems(main)
