"""Batch scoring at scale: `make score` on 1 and 10 million rows, against the model's predict.

    uv run python bench/score.py [--rows 1000000,10000000]   (or: make bench-score)

Bakes a project, sets it up and trains its champion (`make repro`), then writes the
default use case's orders (its own generator, a million rows at a time) as Parquet
files of each size. The reference is the champion's own `predict` on a million of those
rows already in memory, as a DataFrame of the contract's features: no reading, no
checks, no writing. Then `make score` scores each file from disk. Prints, side by side,
rows per second, the ratio to the reference (target: at least 0.70), and the scoring
process's peak memory (target: the largest file's at most 1.5 times the smallest's).
"""

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from common import bake, sh

WRITE = """\
import sys
import pyarrow as pa, pyarrow.parquet as pq
from {package}.synthetic import generate_orders
from {package}.usecase import CONTRACT

rows, path, step = int(sys.argv[1]), sys.argv[2], 1_000_000
writer = None
for start in range(0, rows, step):
    part = generate_orders(min(step, rows - start), seed=start // step)
    part = part.drop(columns=CONTRACT.target.name)
    part[CONTRACT.key] += start  # a key of its own for every row
    table = pa.Table.from_pandas(part, preserve_index=False)
    writer = writer or pq.ParquetWriter(path, table.schema)
    writer.write_table(table, row_group_size=200_000)
writer.close()
"""
REFERENCE = """\
import json, sys, time
import pandas as pd
from goldenpath.core import model_io
from {package}.usecase import CONTRACT

model = model_io.load_model("models/champion")
features = pd.read_parquet(sys.argv[1])[CONTRACT.feature_names].head(1_000_000)
model.predict(features.head(1000))  # warm
times = []
for _ in range(2):
    start = time.perf_counter()
    model.predict(features)
    times.append(time.perf_counter() - start)
print(json.dumps({{"rows": len(features), "seconds": min(times)}}))
"""
SUMMARY = re.compile(r"([\d,]+) rows/s, ([\d.]+) s, peak memory ([\d,]+) MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1000000,10000000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.rows.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(scratch, project_name="Score Bench")
        sh("make setup repro", project)
        package = next((project / "src").iterdir()).name
        (project / "bench_write.py").write_text(WRITE.format(package=package))
        (project / "bench_reference.py").write_text(REFERENCE.format(package=package))
        files = {size: Path(scratch) / f"orders-{size}.parquet" for size in sizes}
        for size, path in files.items():
            sh(f"uv run --frozen python bench_write.py {size} {path}", project)
        reference = json.loads(
            sh(f"uv run --frozen python bench_reference.py {files[sizes[0]]}", project)
        )
        own_rate = reference["rows"] / reference["seconds"]
        results = {}
        for size, path in files.items():
            start = time.perf_counter()
            out = sh(f"make score INPUT={path} OUTPUT={Path(scratch) / 'scores.parquet'}", project)
            wall = time.perf_counter() - start
            rate, seconds, peak = SUMMARY.search(out).groups()
            results[size] = (float(rate.replace(",", "")), float(seconds), wall,
                             float(peak.replace(",", "")))  # fmt: skip
    print(
        f"The champion's own predict, {reference['rows']:,} rows in memory: {own_rate:,.0f} rows/s"
    )
    print(f"{'rows':>12} {'rows/s':>10} {'of predict':>10} {'scoring s':>10} {'make s':>8} "
          f"{'peak MB':>8} {'of 1st':>7}")  # fmt: skip
    smallest = results[sizes[0]][3]
    for size, (rate, seconds, wall, peak) in results.items():
        print(f"{size:>12,} {rate:>10,.0f} {rate / own_rate:>10.2f} {seconds:>10.1f} {wall:>8.1f} "
              f"{peak:>8,.0f} {peak / smallest:>7.2f}")  # fmt: skip
    print("Targets: 'of predict' at least 0.70; 'of 1st' (peak memory) at most 1.50.")


if __name__ == "__main__":
    main()
