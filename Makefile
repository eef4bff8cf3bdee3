# The template's own tasks. `make test` is what CI runs.
.PHONY: test lint release-check release-tag release-tags bench-golden-path bench-stack bench-serving bench-segments bench-engines bench-score

test:  ## The runtime's unit tests, then every template test: bakes, prompts, pipelines, stacks
	cd runtime && uv run pytest
	uv run pytest

lint:
	uv run ruff check hooks tests bench tools migrations && uv run ruff format --check hooks tests bench tools migrations
	cd runtime && uv run ruff check src tests && uv run ruff format --check src tests

bench-golden-path:  ## Scaffold -> registered champion, and a no-op dvc repro, timed
	uv run python bench/golden_path.py

bench-stack:  ## Cold builds, warm `up --wait`, idle memory, serving image size (needs Docker)
	uv run python bench/stack.py

bench-serving:  ## Serving side by side with mlflow models serve (needs wrk; Docker for images)
	uv run python bench/serving.py

bench-segments:  ## One model per city, 5/50/200 cities: sequential, local Dask, a two-worker cluster
	uv run python bench/segments.py

bench-score:  ## make score on 1 and 10 million rows: rows/s against the model's predict, peak memory
	uv run python bench/score.py

bench-engines:  ## Dask against Ray: start-up, memory, a scikit-learn fan-out (installs both on the fly)
	uv run --no-project --with 'dask[distributed]' --with ray --with scikit-learn --with psutil \
		python bench/engines.py

release-check:  ## The working tree is releasable: one version, its CHANGELOG entry, migrations
	uv run python tools/release.py check

release-tag:  ## Release the version in both pyproject.toml files: date its entry, commit, tag
	uv run python tools/release.py tag

release-tags:  ## Tag the releases a clone without tags lacks (found by their commits)
	uv run python tools/release.py tags
