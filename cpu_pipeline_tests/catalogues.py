"""Small hand-made catalogues written into a test database, and the `cpu` table read back."""

import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.analytics import listing_figures
from cpu_pipeline.analytics.price_statistics import exact_where_needed
from cpu_pipeline.analytics.price_targets import price_targets
from cpu_pipeline.database.schema import create_missing_tables

WORKED_HIGH = [350, 360, 340, 355, 365, 345, 370, 330, 375, 338]
WORKED_MEDIUM = [400, 410, 390, 405, 395, 415, 385]


def cpu(cpu_id: int, multi=10_000, single=2_000, **values) -> dict:
    return {
        "id": cpu_id,
        "name": f"Test CPU {cpu_id}",
        "manufacturer": "Intel",
        "cpu_mark_multi": multi,
        "cpu_mark_single": single,
        **values,
    }


def targets_of(cpus: pd.DataFrame, listings: pd.DataFrame) -> pd.DataFrame:
    """`price_targets` of listing rows held in memory, through the same figures and exact recompute as
    the assets (the prices of the CPUs that need it taken from the same rows). A CPU frame without
    scores (a targets-only case) has none: only the targets' own margins apply."""
    cpus = cpus.assign(**{score: cpus.get(score) for score in ("cpu_mark_multi", "cpu_mark_single")})
    figures = listing_figures.summarise(listings)
    return price_targets(exact_where_needed(cpus, figures, lambda cpu_ids: listing_figures.usable_prices(listings, cpu_ids)))


def listings_for(cpu_id, prices, status="active", first_id=None) -> list[dict]:
    first_id = first_id if first_id is not None else cpu_id * 1000
    return [
        {"id": first_id + offset, "cpu_id": cpu_id, "status": status, "price_usd": None, "adjusted_price_usd": price}
        for offset, price in enumerate(prices)
    ]


# Deal Brain's NOT NULL columns without a default, which the pipeline never reads: filled where the table has them.
REQUIRED_ELSEWHERE = {"cpu": {}, "listing": {"title": "Test listing", "other_urls": "[]"}}


def write(url: str, cpus: list[dict], listings: list[dict]) -> None:
    """Insert the rows as given, through plain SQL so that a loose store keeps text as text.

    Creates the pipeline's minimal `cpu` and `listing` where they are missing; into Deal Brain's own
    tables, the columns it requires that a row leaves out get `REQUIRED_ELSEWHERE`'s values.
    """
    engine = sa.create_engine(url)
    create_missing_tables(engine)
    with engine.begin() as connection:
        for table, rows in (("cpu", cpus), ("listing", listings)):
            present = {column["name"] for column in sa.inspect(connection).get_columns(table)}
            filler = {column: value for column, value in REQUIRED_ELSEWHERE[table].items() if column in present}
            for row in rows:
                row = filler | row
                columns = ", ".join(row)
                connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row)
    engine.dispose()


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as `write` takes them: missing values as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def cpu_table(url: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        frame = pd.read_sql_query(sa.text("SELECT * FROM cpu ORDER BY id"), connection).set_index("id")
    engine.dispose()
    return frame
