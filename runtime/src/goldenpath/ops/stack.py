"""The laptop's side of the local stack, from the settings in .env.

    python -m goldenpath.ops.stack run COMMAND...   COMMAND with MLflow's client on the stack's
                                              tracking server, logged in as .env's admin,
                                              the stack's prediction log and Evidently UI
    python -m goldenpath.ops.stack info             where the stack answers and how to log in

The Makefile's stack targets use both. `run` passes on only the client's settings,
in the environment (never on a command line), and not the stack's other secrets.
"""

import os
import sys
from pathlib import Path


def read_env() -> dict[str, str]:
    """.env's KEY=VALUE lines, as docker compose reads them (quotes around a value dropped)."""
    if not Path(".env").is_file():
        sys.exit("no .env here: run `make env` in the project's root first.")
    settings = {}
    for line in Path(".env").read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            settings[key.strip()] = value
    return settings


def require(settings: dict[str, str], *keys: str) -> None:
    missing = [key for key in keys if not settings.get(key)]
    if missing:
        sys.exit(f"{', '.join(missing)} missing in .env (see .env.example).")


def tracking_uri(settings: dict[str, str]) -> str:
    return f"http://127.0.0.1:{settings['MLFLOW_PORT']}"


def prediction_log(settings: dict[str, str]) -> str:
    return f"postgresql://predictions@127.0.0.1:{settings['POSTGRES_PORT']}/predictions"


def run(command: list[str]) -> None:
    settings = read_env()
    require(settings, "MLFLOW_PORT", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    os.environ |= {
        "MLFLOW_TRACKING_URI": tracking_uri(settings),
        "MLFLOW_TRACKING_USERNAME": settings["MLFLOW_TRACKING_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": settings["MLFLOW_TRACKING_PASSWORD"],
    }
    if settings.get("POSTGRES_PORT") and settings.get("PREDICTION_LOG_PASSWORD"):
        os.environ |= {  # the prediction log: what the stack's service writes
            "PREDICTION_LOG": prediction_log(settings),
            "PREDICTION_LOG_PASSWORD": settings["PREDICTION_LOG_PASSWORD"],
        }
    if settings.get("EVIDENTLY_PORT") and settings.get("EVIDENTLY_SECRET_KEY"):
        os.environ |= {
            "EVIDENTLY_URL": f"http://127.0.0.1:{settings['EVIDENTLY_PORT']}",
            "EVIDENTLY_SECRET_KEY": settings["EVIDENTLY_SECRET_KEY"],
        }
    os.execvp(command[0], command)


def info() -> None:
    settings = read_env()
    require(
        settings, "COMPOSE_PROJECT_NAME", "MLFLOW_PORT", "MLFLOW_TRACKING_USERNAME", "SERVE_PORT"
    )
    print(
        f"Stack {settings['COMPOSE_PROJECT_NAME']}:\n"
        f"  MLflow   {tracking_uri(settings)}  user {settings['MLFLOW_TRACKING_USERNAME']},"
        " password: MLFLOW_TRACKING_PASSWORD in .env\n"
        f"  service  http://127.0.0.1:{settings['SERVE_PORT']}  the champion"
        " in its image (POST /predict, docs at /docs)\n"
        "  The same champion on this laptop: make serve-stack (port 8000), make smoke-stack\n"
        f"  monitoring (make monitoring-up): Prometheus http://127.0.0.1:"
        f"{settings.get('PROMETHEUS_PORT', '9090')}, Evidently UI http://127.0.0.1:"
        f"{settings.get('EVIDENTLY_PORT', '8002')}; reports: make monitor-on-stack"
    )


def main() -> None:
    if sys.argv[1:2] == ["run"] and sys.argv[2:]:
        run(sys.argv[2:])
    elif sys.argv[1:] == ["info"]:
        info()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
