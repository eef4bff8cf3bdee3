"""Stage `generate`: synthetic labelled orders (replace with your ingestion)."""

from ..params import load_params
from ..synthetic import generate_orders
from . import stage_paths, write_table


def main() -> None:
    paths = stage_paths("orders")
    data = load_params()["data"]
    write_table(generate_orders(data["n_orders"], data["seed"]), paths.orders)


if __name__ == "__main__":
    main()
