"""The ``lstmkit`` command line.

Every command (a module of ``lstmkit.commands``) has ``--help``; bad input ends with one line
``lstmkit: error: ...`` on stderr and exit status 2, never a traceback. Commands register themselves in
``lstmkit.commands.COMMANDS``, so adding one does not touch the others.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .commands import COMMANDS, MODULES, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, where to look), not usage + message."""

    def error(self, message):
        self.exit(2, f"lstmkit: error: {message} (see: {self.prog} --help)\n")


# ------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    for name in MODULES:
        importlib.import_module(f"lstmkit.commands.{name}")
    parser = _Parser(prog="lstmkit", description="Long Short-Term Memory (1997) and descendants.")
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help, description=help))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command][2](args)
    except (UsageError, ValueError, TypeError, FileNotFoundError, FloatingPointError, OverflowError) as e:
        if os.environ.get("LSTMKIT_DEBUG"):
            raise  # developers: the full traceback
        print(f"lstmkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstmkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
