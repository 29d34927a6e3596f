"""The delay from an UPDATE of a listing's price to its CPU's new targets in the `cpu` table, through the
served stack's listing-change sensor at its default interval (CPU_PIPELINE_SENSOR_INTERVAL_SECONDS, 30 s).

Creates two PostgreSQL databases on the server (Dagster's storage and an application database with the
demo catalogue), starts the webserver and the daemon on the production instance, then `--updates` times:
changes one active price, and polls the `cpu` table every 0.2 s until the CPU's good price is the one
Deal Brain's task would compute. Prints each delay and the median. Both databases are dropped afterwards.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers live in the repository, not in the installed package

from cpu_pipeline.database import demo_catalogue, schema  # noqa: E402
from cpu_pipeline.ops import service  # noqa: E402
from cpu_pipeline.ops.launch import LOCATION  # noqa: E402
from cpu_pipeline_tests.postgres import scratch_database  # noqa: E402

SENSOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": ""}
TICKS = """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             ... on Sensor { sensorState { ticks(limit: 1) { status } } } } }"""
SET_PRICE = sa.text("UPDATE listing SET adjusted_price_usd = :price, updated_at = now() WHERE id = :id")


def wait_for_first_tick(port: int, sensor: str, timeout: float = 300) -> None:
    """Poll the UI's GraphQL until the sensor has been evaluated once: its first evaluation takes the
    baseline, so an update made before it would go unseen."""
    selector = {**SENSOR, "sensorName": sensor}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, KeyError, TypeError):
            body = requests.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": TICKS, "variables": {"selector": selector}}, timeout=10
            ).json()
            if body["data"]["sensorOrError"]["sensorState"]["ticks"]:
                return
        time.sleep(1)
    raise TimeoutError(f"the sensor {sensor} was not evaluated within {timeout} s")


def expected_good_price(connection: sa.Connection, cpu_id: int) -> float:
    prices = connection.execute(
        sa.text("SELECT adjusted_price_usd FROM listing WHERE cpu_id = :id AND status = 'active' AND adjusted_price_usd > 0"),
        {"id": cpu_id},
    ).scalars()
    return round(statistics.mean(prices), 2)


def measure(app_url: str, updates: int, timeout: float) -> list[float]:
    engine = sa.create_engine(app_url)
    with engine.connect() as connection:
        targets = connection.execute(
            sa.text(
                "SELECT min(id), cpu_id FROM listing WHERE status = 'active' AND adjusted_price_usd > 0 "
                "GROUP BY cpu_id HAVING count(*) >= 2 ORDER BY cpu_id LIMIT :n"
            ),
            {"n": updates},
        ).all()
    delays = []
    for number, (listing_id, cpu_id) in enumerate(targets, 1):
        with engine.begin() as connection:
            connection.execute(SET_PRICE, {"price": 7000.25 + number, "id": listing_id})
        changed = time.monotonic()
        with engine.connect() as connection:
            expected = expected_good_price(connection, cpu_id)
        while time.monotonic() - changed < timeout:
            with engine.connect() as connection:
                written = connection.execute(sa.text("SELECT price_target_good FROM cpu WHERE id = :id"), {"id": cpu_id}).scalar()
            if written == expected:
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"update {number}: cpu {cpu_id} did not get its new targets within {timeout} s")
        delays.append(time.monotonic() - changed)
        print(f"update {number}: listing {listing_id} -> cpu {cpu_id} targets after {delays[-1]:.1f} s", flush=True)
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="the PostgreSQL server")
    parser.add_argument("--updates", type=int, default=5, help="updates measured one after another (default: %(default)s)")
    parser.add_argument("--port", type=int, default=3099, help="the webserver's port (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for one update (default: %(default)s)")
    args = parser.parse_args(argv)
    server = sa.make_url(args.server_url)
    with (
        scratch_database(server, "cpu_pipeline_delay_dagster") as dagster_url,
        scratch_database(server, "cpu_pipeline_delay_app") as app_url,
        tempfile.TemporaryDirectory() as home,
    ):
        engine = sa.create_engine(app_url)
        demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(500, 10_000, seed=7))
        schema.create_pipeline_tables(engine)
        engine.dispose()
        (Path(home) / "dagster.yaml").symlink_to(ROOT / service.PRODUCTION_INSTANCE / "dagster.yaml")
        env = {"DAGSTER_PG_URL": dagster_url, "DATABASE_URL": app_url}
        stack = service.start(ROOT, Path(home), args.port, env, log_dir=Path(home))
        try:
            wait_for_first_tick(args.port, "recalculate_on_listing_change")
            delays = measure(app_url, args.updates, args.timeout)
        finally:
            stack.stop()
    print(f"median delay from UPDATE to new targets in cpu: {statistics.median(delays):.1f} s over {len(delays)} updates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
