"""A sensor evaluated tick after tick as the daemon evaluates it: in the code location's repository, on
one instance, each tick starting from the cursor the previous one left. Run status sensors then decide
for themselves which runs they see, as they do when served."""

import dagster as dg

from cpu_pipeline.definitions import defs

REPOSITORY = defs.get_repository_def()


class SensorTicks:
    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, resources: dict):
        self.sensor, self.instance, self.resources = sensor, instance, resources
        self.cursor: str | None = None
        self.tick()  # a run status sensor's first tick only places its cursor after what is already stored

    def tick(self):
        """Evaluate one tick; its SensorExecutionData (`run_requests`, `skip_message`, `cursor`)."""
        # Opened as a context, as the daemon opens it: a resource with a setup (AppDatabase) is set up and torn down.
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            repository_name=REPOSITORY.name,
            repository_def=REPOSITORY,
            resources=self.resources,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data
