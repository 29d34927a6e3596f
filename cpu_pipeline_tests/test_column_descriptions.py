from datetime import date

import dagster as dg

from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for
from cpu_pipeline_tests.materialize import PRICE_HISTORY, RECALCULATION, materialize


def test_every_column_of_every_asset_is_described(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1), cpu(2)], listings_for(1, WORKED_HIGH) + listings_for(2, [100, 110]))
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, day=date(2025, 3, 1), instance=instance)
        assert result.success
        materialized = {
            event.asset_key.to_user_string(): event.materialization.metadata
            for event in result.get_asset_materialization_events()
        }
    assert sorted(materialized) == sorted(asset.key.to_user_string() for asset in RECALCULATION + PRICE_HISTORY)
    # Each asset's column schema, and the schema of any table value beside it (the write-back's catalogue).
    schemas = {
        (asset, key): value.schema
        for asset, metadata in materialized.items()
        for key, value in metadata.items()
        if isinstance(value, (dg.TableSchemaMetadataValue, dg.TableMetadataValue))
    }
    assert {asset for asset, key in schemas if key == "dagster/column_schema"} == set(materialized)
    assert ("cpu_analytics", "catalogue") in schemas
    undescribed = {
        (asset, key, column.name)
        for (asset, key), schema in schemas.items()
        for column in schema.columns
        if not column.description
    }
    assert undescribed == set()
