"""Run the service with uvicorn; HOST, PORT, WORKERS and MODEL_URI come from the environment."""

import os

import uvicorn


def main() -> None:
    uvicorn.run(
        "{{ cookiecutter.package_name }}.serving.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WORKERS", "1")),
    )


if __name__ == "__main__":
    main()
