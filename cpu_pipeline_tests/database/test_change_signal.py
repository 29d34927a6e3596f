import time

import pytest
import sqlalchemy as sa

from cpu_pipeline.database import demo_catalogue, listing_indexes, schema
from cpu_pipeline.database.change_signal import listing_change_signal


@pytest.fixture
def catalogue_url(database_url) -> str:
    engine = sa.create_engine(database_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(20, 200, seed=3))
    engine.dispose()
    return database_url


def _settled_signal(engine: sa.Engine, timeout: float = 60) -> str:
    """The signal once PostgreSQL's counters have taken in every committed change (backends flush them
    within seconds): the same value twice, a second apart."""
    deadline = time.monotonic() + timeout
    previous = listing_change_signal(engine)
    while time.monotonic() < deadline:
        time.sleep(1)
        current = listing_change_signal(engine)
        if current == previous:
            return current
        previous = current
    raise TimeoutError("the change signal did not settle")


def _signal_changes(engine: sa.Engine, before: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listing_change_signal(engine) != before:
            return True
        time.sleep(0.5)
    return False


def test_the_signal_is_stable_without_changes_and_changes_with_an_update(catalogue_url):
    engine = sa.create_engine(catalogue_url)
    before = _settled_signal(engine)
    assert listing_change_signal(engine) == before
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE listing SET adjusted_price_usd = adjusted_price_usd + 1 WHERE id = 1"))
    assert _signal_changes(engine, before)


def test_an_insert_and_a_delete_change_the_signal(catalogue_url):
    engine = sa.create_engine(catalogue_url)
    for statement in (
        "INSERT INTO listing (id, cpu_id, status, price_usd, adjusted_price_usd) VALUES (100000, 1, 'active', 10, 10)",
        "DELETE FROM listing WHERE id = 100000",
    ):
        before = _settled_signal(engine)
        with engine.begin() as connection:
            connection.execute(sa.text(statement))
        assert _signal_changes(engine, before), statement


def test_a_transaction_that_began_first_and_commits_last_still_changes_the_signal(postgres_url):
    """Row count and max(updated_at) miss it: its updated_at (the time it began) is older than the
    other transaction's, which committed first. PostgreSQL's row-change counters do not."""
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(20, 200, seed=3))
    early, late = engine.connect(), engine.connect()
    early.execute(sa.text("UPDATE listing SET adjusted_price_usd = 111, updated_at = now() WHERE id = 1"))  # begins first
    time.sleep(0.05)  # two distinct now() values: the point of the case, not a wait for anything
    late.execute(sa.text("UPDATE listing SET adjusted_price_usd = 222, updated_at = now() WHERE id = 2"))
    late.commit()
    after_late = _settled_signal(engine)
    early.commit()
    with engine.connect() as connection:
        newest = connection.execute(sa.text("SELECT max(updated_at) FROM listing")).scalar()
        late_stamp = connection.execute(sa.text("SELECT updated_at FROM listing WHERE id = 2")).scalar()
    assert newest == late_stamp  # max(updated_at) did not move when the early transaction committed
    assert _signal_changes(engine, after_late)
    early.close()
    late.close()


def test_the_setup_index_makes_max_updated_at_a_lookup(postgres_url):
    engine = sa.create_engine(postgres_url)
    schema.metadata.create_all(engine, tables=[schema.cpu, schema.listing])
    with engine.begin() as connection:
        assert listing_indexes.create(connection, listing_indexes.UPDATED_AT)
        assert not listing_indexes.create(connection, listing_indexes.UPDATED_AT)  # a second setup creates nothing
        plan = "\n".join(connection.execute(sa.text("EXPLAIN SELECT max(updated_at) FROM listing")).scalars())
    assert listing_indexes.UPDATED_AT.name in plan


def test_sqlite_signal_sees_a_price_change_without_a_new_row(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(20, 200, seed=3))
    before = listing_change_signal(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE listing SET adjusted_price_usd = adjusted_price_usd + 1 WHERE id = 1"))
    assert listing_change_signal(engine) != before
