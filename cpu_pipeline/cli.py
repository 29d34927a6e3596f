"""`cpu-pipeline`: run the recalculation once with a short summary, or generate a demo catalogue.

    cpu-pipeline run                     # the job, on DATABASE_URL or the embedded default
    cpu-pipeline generate --cpus 5000 --listings 1000000 --replace
    cpu-pipeline serve                   # webserver + daemon on the top-level dagster.yaml
"""

import argparse
import os
import sys
import time
from pathlib import Path

import dagster as dg

from cpu_pipeline.database import demo_catalogue
from cpu_pipeline.database.engine import make_engine, masked
from cpu_pipeline.defs.resources import app_database_url

JOB_NAME = "recalculate_cpu_metrics"
SUMMARY_FIGURES = ["cpus_total", "cpus_written", "cpus_with_targets", "cpus_insufficient", "cpus_valued", "cpus_in_error"]


def run(_: argparse.Namespace) -> int:
    from cpu_pipeline.definitions import defs

    instance = dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    elapsed = time.perf_counter() - started
    print(f"\n{JOB_NAME}: {'SUCCESS' if result.success else 'FAILURE'} in {elapsed:.1f} s (run {result.run_id})")
    print(f"database: {masked(app_database_url())}")
    written = [event for event in result.get_asset_materialization_events() if event.asset_key == dg.AssetKey("cpu_analytics")]
    if written:
        metadata = {key: value.value for key, value in written[0].materialization.metadata.items()}
        print("  ".join(f"{name}={metadata[name]}" for name in SUMMARY_FIGURES) + f"  error_rate={metadata['error_rate']:.2%}")
        print("\nTen best-value CPUs (lowest $ per multi-thread PassMark point):")
        print(metadata["best_value"])
    for event in result.all_events:
        if event.is_step_failure:
            print(f"failed: {event.step_key}: {event.step_failure_data.error.message.strip()}", file=sys.stderr)
    return 0 if result.success else 1


def generate(args: argparse.Namespace) -> int:
    url = args.database_url or os.getenv("DATABASE_URL")
    if not url:
        print("generate: set DATABASE_URL or pass --database-url", file=sys.stderr)
        return 2
    started = time.perf_counter()
    cpus, listings = demo_catalogue.generate_catalogue(args.cpus, args.listings, args.seed)
    engine = make_engine(url)
    try:
        demo_catalogue.write_catalogue(engine, cpus, listings, replace=args.replace)
    except ValueError as error:
        print(f"generate: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"wrote {len(cpus):,} CPUs and {len(listings):,} listings into {masked(url)} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def serve(args: argparse.Namespace) -> int:
    from cpu_pipeline import service

    try:
        return service.serve(Path.cwd(), args.port, args.host)
    except service.StackError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cpu-pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the recalculation once and print a summary").set_defaults(handler=run)
    generating = commands.add_parser("generate", help="write a deterministic demo catalogue into a database")
    generating.add_argument("--cpus", type=int, default=300)
    generating.add_argument("--listings", type=int, default=5000)
    generating.add_argument("--seed", type=int, default=42)
    generating.add_argument("--database-url", help="SQLAlchemy URL (default: $DATABASE_URL)")
    generating.add_argument("--replace", action="store_true", help="delete the rows already in cpu and listing first")
    generating.set_defaults(handler=generate)
    serving = commands.add_parser("serve", help="run the Dagster webserver and daemon on the top-level dagster.yaml")
    serving.add_argument("--port", type=int, default=int(os.getenv("DAGSTER_PORT", "3000")))
    serving.add_argument("--host", default=os.getenv("DAGSTER_HOST", "127.0.0.1"),
                         help="address the webserver binds to (default: $DAGSTER_HOST or 127.0.0.1, this host only)")
    serving.set_defaults(handler=serve)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
