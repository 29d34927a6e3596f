"""A deterministic demo catalogue of CPUs and listings, with the mess of a real one, and its writer.

The catalogue lets the pipeline run end to end without a Deal Brain database. It deliberately holds
the awkward rows a real catalogue has (archived and pending listings, partial imports, zero and
negative adjusted prices, listings without a CPU, CPUs without scores or listings), all valid values.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.database import bulk, schema

CPU_COLUMNS = ["id", "name", "manufacturer", "cpu_mark_multi", "cpu_mark_single"]
LISTING_COLUMNS = ["id", "cpu_id", "status", "price_usd", "adjusted_price_usd"]

# Log-scale effect of a form factor on the (multi, single) scores, relative to a desktop part.
DESKTOP, HIGH_POWER_MOBILE, LOW_POWER_MOBILE, BUDGET = (0.0, 0.0), (-0.1, -0.03), (-0.4, -0.1), (-0.2, -0.5)
# Desktop suffix variants, which only fill catalogues larger than the plain models.
SUFFIX_EFFECTS = {
    "F": (0.0, 0.0),
    "K": (0.08, 0.04),
    "T": (-0.25, -0.05),
    "KF": (0.08, 0.04),
    "X": (0.06, 0.03),
    "G": (-0.1, -0.03),
    "X3D": (0.04, -0.02),
}
INTEL_SUFFIXES, AMD_SUFFIXES = ("F", "K", "T", "KF"), ("X", "G", "X3D")


def _family(template, skus, generations, form, suffixes=()):
    """Models as (name, tier, year, form factor, variant suffixes), for every generation, tier and SKU.

    `skus` is keyed by the tier in the name (i3/Ryzen 3 .. i9/Ryzen 9), which maps to tier 1..4; budget parts are 0.
    """
    return [
        (template.format(tier=tier, gen=gen, sku=sku), tier // 2, year, form, suffixes)
        for gen, year in generations.items()
        for tier, tier_skus in skus.items()
        for sku in tier_skus
    ]


_CORE_GENERATIONS = {gen: 2009 + gen for gen in range(6, 15)}
_BUDGET_MODELS = {
    "Intel Celeron N3350": 2016,
    "Intel Celeron J3455": 2016,
    "Intel Celeron N4000": 2017,
    "Intel Celeron J4105": 2017,
    "Intel Celeron N4020": 2019,
    "Intel Celeron J4125": 2019,
    "Intel Celeron N4500": 2021,
    "Intel Celeron N5105": 2021,
    "Intel Celeron J6412": 2021,
    "Intel Pentium Silver N5000": 2017,
    "Intel Pentium Silver J5005": 2017,
    "Intel Pentium Silver N5030": 2019,
    "Intel Pentium Silver J5040": 2019,
    "Intel Pentium Silver N6000": 2021,
    "Intel Pentium Gold 7505": 2020,
    "Intel N95": 2023,
    "Intel N97": 2023,
    "Intel N100": 2023,
    "Intel N200": 2023,
    "Intel N300": 2023,
    "Intel N305": 2023,
    "AMD A6-9225": 2016,
    "AMD A9-9425": 2016,
    "AMD Athlon 200GE": 2018,
    "AMD Athlon 3000G": 2019,
    "AMD Athlon Silver 3050U": 2020,
    "AMD Athlon Gold 3150U": 2020,
    "AMD Athlon Silver 7120U": 2022,
}
MODELS = [
    *_family(
        "Intel Core i{tier}-{gen}{sku}",
        {3: ["100", "300"], 5: ["400", "500", "600"], 7: ["700"]},
        _CORE_GENERATIONS,
        DESKTOP,
        INTEL_SUFFIXES,
    ),
    *_family(
        "Intel Core i{tier}-{gen}{sku}",
        {9: ["900"]},
        {gen: year for gen, year in _CORE_GENERATIONS.items() if gen >= 9},
        DESKTOP,
        INTEL_SUFFIXES,
    ),
    *_family(
        "Intel Core i{tier}-{gen}{sku}U",
        {3: ["100"], 5: ["200", "250"], 7: ["500", "550"]},
        {gen: year for gen, year in _CORE_GENERATIONS.items() if gen <= 10},
        LOW_POWER_MOBILE,
    ),
    *_family(
        "Intel Core i{tier}-{gen}{sku}",
        {3: ["15G4"], 5: ["35G7", "45G7"], 7: ["65G7", "85G7"]},
        {11: 2020},
        LOW_POWER_MOBILE,
    ),
    *_family(
        "Intel Core i{tier}-{gen}{sku}",
        {3: ["15U"], 5: ["35U", "40P"], 7: ["55U", "60P"]},
        {12: 2022, 13: 2023},
        LOW_POWER_MOBILE,
    ),
    *_family("Intel Core i{tier}-{gen}{sku}H", {5: ["300"], 7: ["750"]}, {8: 2018, 9: 2019, 10: 2020}, HIGH_POWER_MOBILE),
    *_family(
        "Intel Core i{tier}-{gen}{sku}H",
        {5: ["500"], 7: ["700"], 9: ["900"]},
        {11: 2021, 12: 2022, 13: 2023, 14: 2024},
        HIGH_POWER_MOBILE,
    ),
    *_family(
        "AMD Ryzen {tier} {gen}{sku}",
        {3: ["200"], 5: ["600"], 7: ["700"]},
        {1: 2017, 2: 2018, 3: 2019, 5: 2020, 7: 2022},
        DESKTOP,
        AMD_SUFFIXES,
    ),
    *_family("AMD Ryzen {tier} {gen}{sku}", {9: ["900"]}, {3: 2019, 5: 2020, 7: 2022}, DESKTOP, AMD_SUFFIXES),
    *_family(
        "AMD Ryzen {tier} {gen}{sku}U",
        {3: ["300"], 5: ["500", "600"], 7: ["700", "800"]},
        {2: 2018, 3: 2019, 4: 2020, 5: 2021, 6: 2022, 7: 2023},
        LOW_POWER_MOBILE,
    ),
    *_family(
        "AMD Ryzen {tier} {gen}{sku}",
        {5: ["600H"], 7: ["800H"], 9: ["900HS"]},
        {4: 2020, 5: 2021, 6: 2022},
        HIGH_POWER_MOBILE,
    ),
    *_family("AMD Ryzen {tier} {gen}{sku}", {5: ["640HS"], 7: ["840HS"], 9: ["940HS"]}, {7: 2023}, HIGH_POWER_MOBILE),
    *_family("AMD Ryzen {tier} {gen}{sku}", {5: ["645HS"], 7: ["845HS"], 9: ["945HS"]}, {8: 2024}, HIGH_POWER_MOBILE),
    *[(name, 0, year, BUDGET, ()) for name, year in _BUDGET_MODELS.items()],
]
VARIANTS = [
    (name + suffix, tier, year, tuple(np.add(form, SUFFIX_EFFECTS[suffix])), ())
    for name, tier, year, form, suffixes in MODELS
    for suffix in suffixes
]
# Columns of the candidate pool; the variant suffixes are already folded into the names and effects.
_NAMES, _TIERS, _YEARS, _EFFECTS = (np.array(column) for column in list(zip(*MODELS, *VARIANTS))[:4])

STATUSES = np.array(["archived", "pending", "active"], dtype=object)
ARCHIVED, PENDING, ACTIVE = range(3)


class Profile(NamedTuple):
    """How a catalogue's listings spread over its CPUs and statuses."""

    popularity_sigma: float  # the spread (log scale) of the CPUs' lognormal popularity: the tail's weight
    most_popular_share: float  # the share of all listings that the most popular CPU holds (0: as its popularity gives)
    archived_share: float
    pending_share: float


# "even": the demo catalogue as it has always been. "lopsided": listings spread as a real marketplace
# spreads them (issue 22, measured on one): the median listed CPU with about 500 active listings at
# 10,000,000 listings over 5,000 CPUs, the 99th percentile about 17,700 (a lognormal of sigma 1.55 has
# its median at 0.3x its mean and its 99th percentile at 37x its median), one CPU with 6% of all
# listings, 15% archived or pending.
PROFILES = {
    "even": Profile(popularity_sigma=1.0, most_popular_share=0.0, archived_share=0.15, pending_share=0.07),
    "lopsided": Profile(popularity_sigma=1.55, most_popular_share=0.06, archived_share=0.10, pending_share=0.05),
}
# Share of listings priced as Deal Brain's valuation rules leave them: the list price less a whole
# percentage, unrounded (104.6 less 7% is stored as 97.27799999999999).
PERCENT_DEDUCTED_SHARE = 0.3
# Kinds of listing mess, each with its share of listings; the remaining listings are clean.
PARTIAL_IMPORT, ZERO_ADJUSTED, NEGATIVE_ADJUSTED, NO_CPU, DRAFT, CLEAN = range(6)
MESS_BOUNDS = np.cumsum([0.03, 0.01, 0.005, 0.02, 0.007])
# Rows per COPY when writing: a progress report every few tenths of a second, at no measurable cost.
WRITE_CHUNK_ROWS = 50_000


class CatalogueNotEmpty(ValueError):
    """The `cpu` or `listing` table already holds rows, and the writer was not asked to replace them."""


def generate_catalogue(
    cpu_count: int = 300, listing_count: int = 5000, seed: int = 42, profile: str = "even"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (cpus, listings): a demo catalogue with the columns of `CPU_COLUMNS` and `LISTING_COLUMNS`,
    its listings spread as the `PROFILES` entry `profile` says.

    The same arguments always give the same frames. CPUs are drawn from realistic Intel and AMD models,
    then suffix variants, then numbered copies (" #2", " #3", ...), so names stay unique at any size.
    Raises ValueError for no CPU, a negative listing count or an unknown profile.
    """
    if cpu_count < 1 or listing_count < 0:
        raise ValueError("generate_catalogue needs at least one CPU and a non-negative listing count")
    if profile not in PROFILES:
        raise ValueError(f"unknown catalogue profile {profile!r}: one of {', '.join(PROFILES)}")
    rng = np.random.default_rng(seed)
    cpus, true_multi = _cpus(rng, cpu_count)
    return cpus, _listings(rng, true_multi, listing_count, PROFILES[profile])


def _cpus(rng: np.random.Generator, count: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The CPUs, and every CPU's multi score before some are blanked out (listing prices follow it)."""
    # Plain models first, then suffix variants, then numbered copies of both.
    order = np.concatenate([rng.permutation(len(MODELS)), len(MODELS) + rng.permutation(len(VARIANTS))])
    rows = order[np.arange(count) % len(order)]
    copies = pd.Series(np.arange(count) // len(order))
    name = pd.Series(_NAMES[rows], dtype=object)
    name = name.where(copies == 0, name + " #" + (copies + 1).astype(str))

    tier, age, effect = _TIERS[rows], _YEARS[rows] - 2016, _EFFECTS[rows]
    multi = 2000 * np.exp(0.5 * tier + 0.18 * age + effect[:, 0] + rng.normal(0, 0.08, count))
    single = 1700 * np.exp(0.05 * tier + 0.1 * age + effect[:, 1] + rng.normal(0, 0.04, count))
    cpus = pd.DataFrame(
        {
            "name": name,
            "manufacturer": name.str.split(" ", n=1).str[0],
            "multi": np.clip(multi, 1500, 65000).round().astype(np.int64),
            "single": np.clip(single, 800, 4900).round().astype(np.int64),
        }
    ).sort_values("name", ignore_index=True)

    # Blank scores by exact counts, so even small catalogues show every case.
    blanked = rng.permutation(count)
    both, one = round(0.01 * count), round(0.03 * count)
    no_multi, no_single = np.zeros(count, bool), np.zeros(count, bool)
    no_multi[blanked[: both + one // 2]] = True
    no_single[np.concatenate([blanked[:both], blanked[both + one // 2 : both + one]])] = True
    true_multi = cpus["multi"].to_numpy(dtype=float)
    cpus.insert(0, "id", np.arange(1, count + 1))
    cpus["cpu_mark_multi"] = pd.arrays.IntegerArray(cpus.pop("multi").to_numpy(), no_multi)
    cpus["cpu_mark_single"] = pd.arrays.IntegerArray(cpus.pop("single").to_numpy(), no_single)
    return cpus, true_multi


def _listings(rng: np.random.Generator, true_multi: np.ndarray, count: int, profile: Profile) -> pd.DataFrame:
    cpu_count = len(true_multi)
    # Some CPUs get no listing, some exactly one clean active listing, the rest by uneven popularity.
    roles = rng.permutation(cpu_count)
    unlisted, single = round(0.05 * cpu_count), min(round(0.03 * cpu_count), count)
    regular = roles[single + unlisted :]
    popularity = rng.lognormal(0, profile.popularity_sigma, len(regular))
    if profile.most_popular_share and len(regular) > 1:
        # The most popular CPU weighs its share of the whole; the others keep their lognormal weights.
        top = np.argmax(popularity)
        others = popularity.sum() - popularity[top]
        popularity[top] = others * profile.most_popular_share / (1 - profile.most_popular_share)
    cpu = rng.choice(regular, size=count, p=popularity / popularity.sum())
    shares = [profile.archived_share, profile.archived_share + profile.pending_share]
    status = np.searchsorted(shares, rng.random(count), side="right")
    kind = np.searchsorted(MESS_BOUNDS, rng.random(count), side="right")
    singles_at = rng.choice(count, single, replace=False)
    cpu[singles_at], kind[singles_at], status[singles_at] = roles[:single], CLEAN, ACTIVE

    price = np.round((80 + 0.012 * true_multi[cpu]) * rng.lognormal(0, 0.15, count), 2)
    # About 40% of listings have no RAM/storage deduction, the rest up to 15% of the price.
    deduction = np.maximum(rng.uniform(-0.1, 0.15, count), 0)
    adjusted = np.round(price * (1 - deduction), 2)
    # Drawn after everything else, so the rest of the catalogue is what it was before sub-cent prices.
    percent_deducted = rng.random(count) < PERCENT_DEDUCTED_SHARE
    percent = rng.integers(1, 16, count)
    adjusted[percent_deducted] = price[percent_deducted] * (1 - percent[percent_deducted] / 100)
    adjusted[kind == PARTIAL_IMPORT] = np.nan
    adjusted[kind == ZERO_ADJUSTED] = 0
    # Deductions larger than the price itself.
    adjusted[kind == NEGATIVE_ADJUSTED] = np.round(-0.25 * price[kind == NEGATIVE_ADJUSTED], 2)
    status[(kind == ZERO_ADJUSTED) | (kind == NEGATIVE_ADJUSTED)] = ACTIVE
    # Drafts: pending listings that have no price yet.
    price[kind == DRAFT], adjusted[kind == DRAFT], status[kind == DRAFT] = np.nan, np.nan, PENDING
    return pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "cpu_id": pd.arrays.IntegerArray(cpu + 1, kind == NO_CPU),
            "status": STATUSES[status],
            "price_usd": price,
            "adjusted_price_usd": adjusted,
        }
    )


def write_catalogue(
    engine: sa.Engine,
    cpus: pd.DataFrame,
    listings: pd.DataFrame,
    replace: bool = False,
    progress: Callable[[int], object] | None = None,
) -> None:
    """Write the catalogue into the `cpu` and `listing` tables, creating them where missing, in one transaction.

    Only the columns of `CPU_COLUMNS` and `LISTING_COLUMNS` are written; the others get their defaults.
    Tables that already hold rows raise CatalogueNotEmpty, unless `replace` is set: then their rows are
    deleted first. PostgreSQL is bulk-loaded with COPY; other databases get executemany inserts; either
    in chunks of `WRITE_CHUNK_ROWS`, after each of which `progress` (when given) is called with its row count.
    """
    schema.create_missing_tables(engine)
    with engine.begin() as conn:
        if _holds_rows(conn, schema.cpu) or _holds_rows(conn, schema.listing):
            if not replace:
                raise CatalogueNotEmpty("the cpu and listing tables already hold rows")
            conn.execute(schema.listing.delete())
            conn.execute(schema.cpu.delete())
        for table, frame in ((schema.cpu, cpus[CPU_COLUMNS]), (schema.listing, listings[LISTING_COLUMNS])):
            for start in range(0, len(frame), WRITE_CHUNK_ROWS):
                chunk = frame.iloc[start : start + WRITE_CHUNK_ROWS]
                bulk.insert(conn, table, chunk)
                if progress is not None:
                    progress(len(chunk))
            if engine.dialect.name == "postgresql":
                # COPY bypasses the id sequence; move it past the loaded ids so later inserts do not collide.
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence(:table, 'id'), max(id)) FROM {table.name}"),
                    {"table": table.name},
                )


def fill_if_empty(engine: sa.Engine, seed: int = 42) -> bool:
    """Create missing tables; if the cpu table holds no rows, write the default demo catalogue.

    Returns True when it wrote.
    """
    schema.create_missing_tables(engine)
    with engine.connect() as conn:
        if _holds_rows(conn, schema.cpu):
            return False
    write_catalogue(engine, *generate_catalogue(seed=seed))
    return True


def _holds_rows(conn: sa.Connection, table: sa.Table) -> bool:
    return conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
