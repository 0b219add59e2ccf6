"""The ``lstmkit`` command line.

Every command (a module of ``lstmkit.commands``) has ``--help``; bad input ends with one line
``lstmkit: error: ...`` on stderr and exit status 2, never a traceback (``explain`` maps every kind of
exception to its line; ``LSTMKIT_DEBUG=1`` shows the traceback instead). Commands register themselves in
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


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, a batch system's time limit): unwound like Ctrl-C, so a run
    that finished no epoch removes its directory and one that did says how to resume."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    import signal

    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminate)
    except ValueError:                               # not the main thread (main() called from a thread)
        pass
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command][2](args)
    except BaseException as e:  # noqa: BLE001 - the one place that turns every failure into one line
        if os.environ.get("LSTMKIT_DEBUG") and not isinstance(e, SystemExit):
            raise  # developers: the full traceback
        code, message = explain(e)
        if message:
            try:
                print(f"lstmkit: {message}", file=sys.stderr)
            except (OSError, ValueError):
                pass
        if isinstance(e, BrokenPipeError):
            _silence_stdout()
        return code


def explain(e: BaseException) -> tuple[int, str | None]:
    """Exit status and one line for an exception that reached the top of a command.

    Status 2 for what the user can fix (bad input, files, sizes), 130 for Ctrl-C, 1 for a failure of
    lstmkit itself (the line says so and how to see the traceback). No traceback is ever printed here.
    """
    if isinstance(e, SystemExit):                   # argparse's --help, --version and usage errors
        return (e.code if isinstance(e.code, int) else 2), None
    if isinstance(e, KeyboardInterrupt):
        what, code = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        return code, "; ".join([what, *getattr(e, "__notes__", [])])
    if isinstance(e, BrokenPipeError):
        return 1, "error: the output was closed before lstmkit finished writing to it (broken pipe)"
    if isinstance(e, MemoryError):
        return 2, ("error: out of memory; lower the sizes that scale the work (--hidden-size, --num-layers, "
                   "--batch-size, --trials) or free memory")
    if isinstance(e, RecursionError):
        return 2, "error: an input is nested too deeply to read (a damaged or hostile JSON/TOML file?)"
    if isinstance(e, OSError):
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        if isinstance(e, FileNotFoundError) and not where:
            return 2, f"error: {e}"
        return 2, (f"error: cannot read or write {where}{e.strerror or e}; check the path, its permissions and "
                   f"the free disk space")
    if isinstance(e, (UsageError, ValueError, TypeError, FloatingPointError, OverflowError)):
        return 2, f"error: {e}"
    if isinstance(e, KeyError):
        return 2, f"error: a required field {e} is missing from an input file (damaged?)"
    first = str(e).splitlines()[0] if str(e) else ""
    return 1, (f"internal error: {type(e).__name__}: {first[:200]} (a bug in lstmkit; LSTMKIT_DEBUG=1 shows the "
               f"traceback)")


def _silence_stdout() -> None:
    """After a broken pipe, Python's exit would flush stdout again and print a second error; point it at devnull."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
