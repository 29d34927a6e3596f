"""The code location: every domain under `defs/`, loaded by folder, and the policy that holds for all
of them, applied here once. `dagster dev -m cpu_pipeline.definitions`, or `dg dev` from the repository root.

- Owners: every asset belongs to `team:deal-brain`.
- Kinds: every asset is computed with `pandas`; an asset that uses the `app_database` resource also
  carries the kind of the database the settings name (`postgres` or `sqlite`). An external asset (a
  table of Deal Brain's, computed by none of ours) carries that database's kind alone.
- Freshness: the write-back `cpu_analytics` is stale when older than the freshness window
  (CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS, 26 hours); the UI shows it, `alert_on_overdue_recalculation`
  alerts on it, and `cpu-pipeline health` reports it. The UI warns before, past the warn window
  (CPU_PIPELINE_FRESHNESS_WARN_SECONDS, by default an hour less).
- One process per run: the steps depend on one another and run in turn anyway, so one process saves
  each step's start-up.

The concurrency pool is the one policy that cannot be applied here: Dagster reads it from the op that
computes an asset, which `map_asset_specs` does not reach, so each asset names it (`lib/pools.py`).
"""

import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.database.engine import backend

OWNERS = ["team:deal-brain"]
UNIFORM_KINDS = {"pandas"}
DATABASE_RESOURCE = "app_database"
WRITE_BACK = dg.AssetKey("cpu_analytics")


def with_team_policy(
    domains: dg.Definitions, database_kind: str, freshness_window: timedelta, freshness_warn: timedelta | None = None
) -> dg.Definitions:
    """Every asset with the owners and kinds above; `database_kind` for those that use the database and
    for the external ones (AssetSpecs); the write-back with a freshness policy failing past
    `freshness_window`, warning past `freshness_warn` (None: no warning; else below the window, as Dagster
    requires)."""
    computed = [asset for asset in domains.assets if isinstance(asset, dg.AssetsDefinition)]
    uses_database = {key for asset in computed for key in asset.keys if DATABASE_RESOURCE in asset.required_resource_keys}
    external = {asset.key for asset in domains.assets if isinstance(asset, dg.AssetSpec)}

    def team_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key in external:
            kinds = {database_kind}
        else:
            kinds = UNIFORM_KINDS | ({database_kind} if spec.key in uses_database else set())
        spec = spec.merge_attributes(owners=OWNERS, kinds=kinds)
        if spec.key == WRITE_BACK:
            policy = dg.FreshnessPolicy.time_window(fail_window=freshness_window, warn_window=freshness_warn)
            spec = spec.replace_attributes(freshness_policy=policy)
        return spec

    with warnings.catch_warnings():
        # Dagster 1.13 marks map_resolved_asset_specs "preview"; the pinned version and the definitions
        # snapshot test (test_definitions.py) catch any change in what it does.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return domains.map_resolved_asset_specs(func=team_policy)


# The one Definitions object at module scope, as Dagster requires. The defs folder is found through
# pyproject.toml's [tool.dg] section, beside this package in the checkout (`pip install -e .`, as `make` installs it).
defs = dg.Definitions.merge(
    with_team_policy(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        database_kind=backend(settings.current().database_url),
        freshness_window=timedelta(seconds=settings.current().freshness_window_seconds),
        freshness_warn=(
            timedelta(seconds=settings.current().freshness_warn_seconds) if settings.current().freshness_warn_seconds else None
        ),
    ),
    dg.Definitions(executor=dg.in_process_executor),
)
