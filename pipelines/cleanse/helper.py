"""The helper process of `udfs.LookupRunner`: applies a `_cl_*` function to the values it is
sent and sends the results back (`python -m pipelines.cleanse.helper`).

A plain child process talking Arrow IPC over its stdin/stdout, rather than multiprocessing:
spawn would re-run the caller's main script, fork would copy a process running DuckDB's
threads. Each request is one IPC stream whose schema metadata names the function and the
date; each reply is one stream with the column `v` and the count of values that raised.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from typing import BinaryIO

import pyarrow as pa

from pipelines.cleanse.udfs import apply_udf


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until the input ends."""
    while True:
        try:
            reader = pa.ipc.open_stream(requests)
        except (pa.ArrowInvalid, EOFError):
            return  # the parent closed the pipe
        rows = reader.read_all()
        meta = rows.schema.metadata or {}
        name = meta[b"udf"].decode()
        errors: Counter = Counter()
        values = apply_udf(name, date.fromisoformat(meta[b"today"].decode()), rows.columns, errors)
        reply = pa.table({"v": values}).replace_schema_metadata({"errors": str(errors[name])})
        with pa.ipc.new_stream(replies, reply.schema) as writer:
            writer.write_table(reply)
        replies.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
