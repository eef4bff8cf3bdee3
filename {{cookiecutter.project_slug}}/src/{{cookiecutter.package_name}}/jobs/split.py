"""Stage `split`: a seeded train / holdout split."""

from ..params import load_params
from . import read_orders, stage_paths, write_table


def main() -> None:
    paths = stage_paths("orders", "split_dir")
    data = load_params()["data"]
    orders = read_orders(paths.orders)
    holdout = orders.sample(frac=data["holdout_fraction"], random_state=data["seed"])
    write_table(orders.drop(holdout.index), paths.split_dir / "train.csv")
    write_table(holdout.sort_index(), paths.split_dir / "holdout.csv")


if __name__ == "__main__":
    main()
