"""The cost of one probe of the listing-change sensor (`database/change_signal.py`) at 10,000,000 listings.

Fills the listing table of a PostgreSQL database (default `cpu_pipeline_probe`, created if missing, its
`cpu` and `listing` tables REPLACED unless --skip-generate) with generated rows, in SQL, then times
`listing_change_signal` without and with the index `cpu-pipeline setup` creates on `listing (updated_at)`,
and prints the median and the worst of the repeats. Target: under 50 ms with the index.
"""

import argparse
import statistics
import sys
import time

import sqlalchemy as sa
from run_benchmark import ensure_database

from cpu_pipeline.database import listing_indexes, schema
from cpu_pipeline.database.change_signal import listing_change_signal

CPUS = 5000


def fill(engine: sa.Engine, listings: int) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS listing, cpu"))
    schema.create_missing_tables(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO cpu (id, name, manufacturer) SELECT i, 'CPU ' || i, 'Intel' FROM generate_series(1, :cpus) AS i"
            ),
            {"cpus": CPUS},
        )
        connection.execute(
            sa.text(
                "INSERT INTO listing (id, cpu_id, status, price_usd, adjusted_price_usd, updated_at) "
                "SELECT i, 1 + i % :cpus, 'active', 100 + i % 997, 100 + i % 997, "
                "now() - make_interval(secs => i % 86400) FROM generate_series(1, :listings) AS i"
            ),
            {"cpus": CPUS, "listings": listings},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE listing"))


def time_probe(engine: sa.Engine, repeats: int) -> list[float]:
    listing_change_signal(engine)  # a connection in the pool, as the sensor's resource keeps one between evaluations
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        listing_change_signal(engine)
        timings.append(time.perf_counter() - started)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/cpu_pipeline_probe")
    parser.add_argument("--listings", type=int, default=10_000_000, help="listings to generate (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=20, help="probes timed per case (default: %(default)s)")
    parser.add_argument("--skip-generate", action="store_true", help="keep the tables as they are")
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    engine = sa.create_engine(args.database_url)
    if not args.skip_generate:
        started = time.perf_counter()
        fill(engine, args.listings)
        print(f"filled {args.listings:,} listings in {time.perf_counter() - started:.1f} s")
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP INDEX IF EXISTS {listing_indexes.UPDATED_AT.name}"))
    without = time_probe(engine, max(args.repeats // 4, 3))
    with engine.begin() as connection:
        listing_indexes.create(connection, listing_indexes.UPDATED_AT)
    with_index = time_probe(engine, args.repeats)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*) FROM listing")).scalar()
    print(f"listing rows: {rows:,}")
    for label, timings in (("without the index", without), (f"with {listing_indexes.UPDATED_AT.name}", with_index)):
        print(f"probe {label}: median {statistics.median(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms")
    passed = statistics.median(with_index) < 0.050
    print(f"target: median under 50 ms with the index: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
