"""The Spark side of linkage: one session per process, with Splink's similarity UDFs.

`LINKAGE_BACKEND=spark` sends the records to Spark; `SPARK_MASTER` says where it runs
(`local[2]` by default, `spark://host:7077`, `yarn`, `k8s://...` on a cluster). Spark 4
needs Java 17, and Splink's Jaro-Winkler / Damerau-Levenshtein functions come from the
jar shipped inside the splink package, which must be on the session's `spark.jars`.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_SPARK_MASTER = "local[2]"
# Splink runs hundreds of small queries; on a local master each extra partition is pure
# task overhead, so default to one per core (a cluster sets SPARK_SHUFFLE_PARTITIONS).
DEFAULT_SHUFFLE_PARTITIONS = 2


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession (created on first use) on `master`."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    master = master or os.environ.get("SPARK_MASTER") or DEFAULT_SPARK_MASTER
    partitions = os.environ.get("SPARK_SHUFFLE_PARTITIONS", str(DEFAULT_SHUFFLE_PARTITIONS))
    builder = (
        SparkSession.builder.master(master)
        .appName("customer-store-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", partitions)
        .config("spark.default.parallelism", partitions)
        # Dates and timestamps must not shift with the machine's zone.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # Only applies when this process starts the JVM (local mode); a cluster's own
        # configuration wins otherwise.
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "2g"))
        # An OutOfMemoryError in the thread serving a toArrow()/toPandas() result is fatal
        # to that thread only, and PySpark then waits for its result forever (a silent
        # hang in SocketAuthServer.getResult). Dying loudly fails the stage instead.
        .config("spark.driver.extraJavaOptions", _driver_java_options())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _driver_java_options() -> str:
    """`spark.driver.extraJavaOptions`: SPARK_DRIVER_EXTRA_JAVA_OPTIONS plus exit on OOM."""
    extra = os.environ.get("SPARK_DRIVER_EXTRA_JAVA_OPTIONS", "").strip()
    flag = "-XX:+ExitOnOutOfMemoryError"
    return f"{extra} {flag}".strip() if flag not in extra else extra


def spark_api(master: str | None = None) -> Any:
    """Splink's SparkAPI on the process's session."""
    from splink import SparkAPI

    # `persist` keeps Splink's intermediate tables in executor memory; the parquet
    # default needs a shared checkpoint directory that a local run does not have.
    return SparkAPI(
        spark_session=spark_session(master),
        break_lineage_method="persist",
        num_partitions_on_repartition=int(
            os.environ.get("SPARK_SHUFFLE_PARTITIONS", str(DEFAULT_SHUFFLE_PARTITIONS))
        ),
    )
