"""Stage `validate`: only data that honours the contract goes further."""

import sys

import pandas as pd

from ..contract import ContractViolation, validate_orders
from . import stage_paths, write_table


def main() -> None:
    paths = stage_paths("raw", "validated")
    try:
        orders = validate_orders(pd.read_csv(paths.raw), source=str(paths.raw))
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        sys.exit(f"{paths.raw} is not a readable CSV table ({error}); regenerate or re-export it.")
    except ContractViolation as violation:
        sys.exit(str(violation))
    write_table(orders, paths.validated)
    print(f"{paths.raw}: {len(orders)} orders honour the contract")


if __name__ == "__main__":
    main()
