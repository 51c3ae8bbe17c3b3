"""Command line of the unified customer store: `python -m pipelines <command> --help`."""

import argparse
import importlib
import sys

# Each command is a module of pipelines.commands with HELP, add_arguments(parser), run(args).
COMMANDS = ("sync", "erase", "steward")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"pipelines.commands.{name}")
        modules[name] = module
        module.add_arguments(subcommands.add_parser(name, help=module.HELP))
    args = parser.parse_args(argv)
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
