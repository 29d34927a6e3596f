"""`cpu-pipeline show CPU_NAME_OR_ID`: one CPU as the pipeline last wrote it, for an operator: its price
targets, sample size and confidence, performance value, errors and price trend.

The targets and values are read from Deal Brain's `cpu` table, the trend from the pipeline's
`cpu_price_trends`; the errors are those the next run would report for this CPU, from its scores and its
active listings' prices as they are stored now (a CPU in error keeps the values of its last good run).
"""

import math
import sys
from typing import TextIO

import pandas as pd
import sqlalchemy as sa

from cpu_pipeline import settings
from cpu_pipeline.analytics.trends import WINDOWS
from cpu_pipeline.analytics.validation import as_stored, parse_numbers, parse_scores
from cpu_pipeline.database import cpu_lookup, schema
from cpu_pipeline.database.engine import MissingDatabase, UnsupportedDatabaseURL, explain, make_engine

MISSING = "-"
# DATABASE_URL unset and the embedded database not made yet: the quickstart's first step makes it.
NOT_RUN_YET = (
    "no database yet: DATABASE_URL is unset, and the embedded demo database ({path}) is made by the first run: "
    "run `make run` (or `cpu-pipeline run`), or set DATABASE_URL to Deal Brain's database"
)


def show(name_or_id: str, configured: settings.Settings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the report of the CPU that `name_or_id` names (an id, a name, or part of one, any case) on
    the database DATABASE_URL names (else the embedded one). Exit status 0; 1 when no CPU or several
    match (listed, to pick one), or the database cannot be read (one line saying why); 2 for a bad URL."""
    out, err = out or sys.stdout, err or sys.stderr  # the streams of the moment, not of import time
    url = configured.database_url
    # The engine alone, not the pipeline's Dagster resource: `show` answers without importing Dagster.
    try:
        engine = make_engine(url)
    except UnsupportedDatabaseURL as error:
        print(f"show: {explain(error, url)}", file=err)
        return 2
    try:
        found = cpu_lookup.find_cpus(engine, name_or_id)
        if len(found) != 1:
            print(_no_single_match(name_or_id, found), file=err)
            return 1
        row = found.iloc[0]
        prices = cpu_lookup.active_prices(engine, int(row["id"]))
        trends = schema.pipeline_tables_in(engine, configured.pipeline_schema).trends
        trend = cpu_lookup.trend_of(engine, trends, int(row["id"]))
    except MissingDatabase as error:
        not_run_yet = configured.embedded_database
        print(f"show: {NOT_RUN_YET.format(path=engine.url.database) if not_run_yet else explain(error, url)}", file=err)
        return 1
    except sa.exc.DBAPIError as error:
        print(f"show: {explain(error, url)}", file=err)
        return 1
    finally:
        engine.dispose()
    print(report(row, errors(found, prices), trend), file=out)
    return 0


def _no_single_match(name_or_id: str, found: pd.DataFrame) -> str:
    if not len(found):
        return f"show: no CPU has the id or a name containing {name_or_id!r}"
    names = "\n".join(f"  {cpu_id:>6}  {name}" for cpu_id, name in zip(found["id"], found["name"]))
    return f"show: {len(found)} CPUs have a name containing {name_or_id!r}; give one's id or whole name:\n{names}"


def errors(cpu_row: pd.DataFrame, prices: pd.DataFrame) -> list[str]:
    """Why the CPU is in error, one reason a line (none: not in error): its scores, by the pipeline's
    own rule, and every active listing whose adjusted price is not a finite number."""
    reasons = [reason for reason in parse_scores(cpu_row)["score_error"].dropna() for reason in reason.split("; ")]
    _, invalid = parse_numbers(prices["adjusted_price_usd"])
    bad = prices[invalid.to_numpy()]
    if len(bad):
        listed = ", ".join(
            f"listing {listing} ({as_stored(price)})" for listing, price in zip(bad["id"], bad["adjusted_price_usd"])
        )
        reasons.append(f"{len(bad)} active listing(s) with an adjusted price that is not a finite number: {listed}")
    return reasons


def report(row: pd.Series, reasons: list[str], trend: dict | None) -> str:
    """The lines `show` prints for one CPU: `row` from `cpu_lookup.find_cpus`, its error `reasons`, its
    `trend` row (None: no trend yet). Dollars to the cent, percentages with a % sign, a missing value `-`."""
    lines = [
        f"{row['name']}  (id {row['id']}, {row['manufacturer']}; PassMark {_plain(row['cpu_mark_multi'])} multi-thread, "
        f"{_plain(row['cpu_mark_single'])} single-thread)",
        "",
        f"price targets  (updated {_when(row['price_target_updated_at'])})",
        f"  great   {_dollars(row['price_target_great'])}",
        f"  good    {_dollars(row['price_target_good'])}",
        f"  fair    {_dollars(row['price_target_fair'])}",
        f"  stddev  {_dollars(row['price_target_stddev'])}",
        f"  sample size  {_listings(row['price_target_sample_size'])}",
        f"  confidence   {_plain(row['price_target_confidence'])}",
        "",
        f"performance value  (updated {_when(row['performance_metrics_updated_at'])})",
        f"  $ per multi-thread mark   {_plain(row['dollar_per_mark_multi'])}",
        f"  $ per single-thread mark  {_plain(row['dollar_per_mark_single'])}",
        f"  percentile  {_percent(row['performance_value_percentile'], 1)}; rating {_plain(row['performance_value_rating'])}",
        "",
        "errors  " + ("none" if not reasons else "(this CPU keeps the values of its last good run)"),
        *(f"  {reason}" for reason in reasons),
        "",
    ]
    if trend is None:
        return "\n".join([*lines, "trend  none yet (written by cpu_price_trends after the night's snapshot)"])
    return "\n".join(
        [
            *lines,
            f"trend  (as of {trend['as_of']})",
            f"  good price  {_dollars(trend['price_target_good'])}",
            *(f"  {window} days  {_change(trend, window)}" for window in WINDOWS),
            f"  price drop  {_yes_no(trend['price_drop'])}; wide price range  {_yes_no(trend['wide_price_range'])}; "
            f"outliers  {_plain(trend['outlier_count'])}",
        ]
    )


def _change(trend: dict, window: int) -> str:
    dollars, percent = trend[f"good_change_{window}d"], trend[f"good_change_{window}d_pct"]
    return f"{_signed_dollars(dollars)} ({_percent(percent)})"


def _missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _plain(value) -> str:
    """A value as plain text: a whole number without `.0`, a numpy scalar as its number."""
    if _missing(value):
        return MISSING
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _listings(count) -> str:
    return f"{_plain(count)} active listing{'' if count == 1 else 's'}"


def _when(stamp) -> str:
    """A write-back's time stamp (naive UTC, as the `cpu` table keeps it) to the minute."""
    return MISSING if _missing(stamp) else f"{stamp:%Y-%m-%d %H:%M} UTC"


def _dollars(value) -> str:
    return MISSING if _missing(value) else f"${value:,.2f}"


def _signed_dollars(value) -> str:
    return MISSING if _missing(value) else f"{'-' if value < 0 else '+'}${abs(value):,.2f}"


def _percent(value, decimals: int = 2) -> str:
    return MISSING if _missing(value) else f"{value:.{decimals}f}%"


def _yes_no(flag) -> str:
    return MISSING if _missing(flag) else ("yes" if flag else "no")
