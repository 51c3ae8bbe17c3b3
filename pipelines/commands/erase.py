"""`python -m pipelines erase`: erase one customer's personal data (right to erasure)."""

import argparse
import sys

HELP = "erase one customer's personal data from the store and keep them from coming back"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customer", required=True, help="customer_id (a retired id resolves)")
    parser.add_argument("--by", required=True, help="who requested / approved the erasure")
    parser.add_argument("--reason", required=True, help="legal basis or ticket reference")


def run(args: argparse.Namespace) -> int:
    from pipelines.identity.erasure import ErasureError, erase_customer
    from pipelines.publish.edit import StoreBusyError
    from pipelines.settings import load_settings
    from pipelines.synclock import SyncRunningError

    settings = load_settings()
    try:
        result = erase_customer(
            settings.store_url,
            args.customer,
            requested_by=args.by,
            reason=args.reason,
            work_dir=settings.work_dir,
        )
    except (ErasureError, FileNotFoundError, SyncRunningError, StoreBusyError) as exc:
        print(f"erasure refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"erased customer {result.customer_id}: {result.records} source records suppressed "
        f"({result.identifiers} identifiers hashed), erasure id {result.erasure_id}. "
        "Ask the source owners to delete the records at the source too."
    )
    return 0
