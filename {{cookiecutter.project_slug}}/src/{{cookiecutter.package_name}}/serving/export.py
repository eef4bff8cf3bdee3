"""Copy a registered model into build/ for the serving image, with what the image labels say.

    python -m {{ cookiecutter.package_name }}.serving.export [MODEL_URI] [DEST]

MODEL_URI defaults to the champion; the image then needs no registry at start.
"""

import json
import shutil
import sys
from pathlib import Path

import mlflow

from .model import EXPORT_RECORD, default_model_uri, load_served_model

BUILD_DIR = Path("build")


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else default_model_uri()
    destination = Path(sys.argv[2]) if len(sys.argv) > 2 else BUILD_DIR / "model"
    served = load_served_model(uri)  # fails with advice when there is no such model
    shutil.rmtree(destination, ignore_errors=True)
    mlflow.artifacts.download_artifacts(uri, dst_path=str(destination))
    described = served.describe()
    (destination / EXPORT_RECORD).write_text(json.dumps(described, indent=2) + "\n")
    build_args = {
        "GIT_COMMIT": served.git_commit,
        "MODEL_NAME": served.name,
        "MODEL_VERSION": served.version,
        "DATA_MD5": served.data_md5,
    }
    (destination.parent / "build-args").write_text(
        "".join(f"{key}={value}\n" for key, value in build_args.items())
    )
    print(f"exported {served.name} version {served.version} from {uri} to {destination}")


if __name__ == "__main__":
    main()
