"""Fault injection for the crash-safety tests.

`CUSTOMER_STORE_FAULT=<point>` makes the process kill itself with SIGKILL when it reaches that
point, exactly as a power cut or an OOM kill would. Unset in production: `fault_point` is then
a no-op. Points: extract.after_first_source, link.after_scoring, publish.before_swap.
"""

import os
import signal


def fault_point(name: str) -> None:
    if os.environ.get("CUSTOMER_STORE_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
