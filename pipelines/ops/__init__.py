"""Operating the sync in Dagster: schedules, sensors, alerts, the instance, asset metadata.

Plain functions first (testable without a Dagster instance); the Dagster objects built from
them are thin.
"""
