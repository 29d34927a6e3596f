import dagster as dg
import sqlalchemy as sa

from cpu_pipeline.database import demo_catalogue
from cpu_pipeline.defs.recalculation.sensors import LISTING_CHANGE_TAG, recalculate_on_listing_change
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock


def _evaluate(url: str, cursor: str | None, now: str):
    resources = {"app_database": AppDatabase(url=url), "clock": Clock(fixed_now=now)}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return recalculate_on_listing_change(context), context.cursor


def test_a_change_requests_one_run_of_the_job_once_settled_tagged_with_its_signal(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(10, 100, seed=5))
    result, cursor = _evaluate(sqlite_url, None, "2026-11-30T10:00:00")
    assert result is None  # the first evaluation takes a baseline
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE listing SET adjusted_price_usd = 1.5 WHERE id = 1"))
    result, cursor = _evaluate(sqlite_url, cursor, "2026-11-30T10:00:30")
    assert result is None  # changed: wait one interval for it to settle
    request, cursor = _evaluate(sqlite_url, cursor, "2026-11-30T10:01:00")
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"1:{request.tags[LISTING_CHANGE_TAG]}"  # numbered: a signal can come back
    assert "price_total=" in request.run_key
    assert _evaluate(sqlite_url, cursor, "2026-11-30T10:01:30")[0] is None  # nothing new: no second run
    assert recalculate_on_listing_change.job_name == "recalculate_cpu_metrics"
    assert recalculate_on_listing_change.default_status == dg.DefaultSensorStatus.RUNNING


def test_an_unreachable_database_skips_and_keeps_the_cursor():
    url = "postgresql://nobody@127.0.0.1:1/none"
    result, cursor = _evaluate(url, '{"requested": "a", "previous": "a", "changed_since": null}', "2026-11-30T10:00:00")
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message.startswith("the database server at 127.0.0.1:1 refuses connections")
    assert cursor == '{"requested": "a", "previous": "a", "changed_since": null}'
