"""The Dagster layer: thin, declarative wrappers around `cpu_pipeline.analytics` and the database."""
