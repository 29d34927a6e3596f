"""P, the prices every per-CPU figure is computed from: for each CPU, the adjusted prices of its
`active` listings that are positive numbers, as stored (the list price is never used)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.validation import parse_numbers


@dataclass
class PriceSamples:
    """P for every CPU at once: each usable price (a float, as stored) with its CPU's position in `cpus`."""

    at: np.ndarray
    prices: np.ndarray
    cpu_count: int

    def count(self) -> np.ndarray:
        return np.bincount(self.at, minlength=self.cpu_count)


def price_samples(cpus: pd.DataFrame, listings: pd.DataFrame) -> tuple[PriceSamples, np.ndarray, np.ndarray]:
    """The usable prices, and per listing its CPU's position (-1 when unknown) and whether it is an
    active listing of a known CPU whose price is present but not a finite number."""
    position = pd.Index(cpus["id"].to_numpy()).get_indexer(pd.to_numeric(listings["cpu_id"], errors="coerce"))
    prices, invalid = parse_numbers(listings["adjusted_price_usd"])
    active = (listings["status"] == "active").to_numpy() & (position >= 0)
    usable = active & (prices.to_numpy() > 0)
    return PriceSamples(position[usable], prices.to_numpy()[usable], len(cpus)), position, invalid.to_numpy() & active
