"""The CLI's command registry: ``COMMANDS[name] = (help, add_arguments, run)``.

Each command lives in its own module of this package and registers itself with ``@command``;
``lstmkit.cli`` imports the modules listed in ``MODULES`` and builds the parser from the registry.
"""
from __future__ import annotations

from collections.abc import Callable

MODULES = ("demo", "train", "predict", "generate", "plot", "inspect", "export", "reproduce", "warmup")

COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str, add_arguments: Callable):
    def register(fn):
        COMMANDS[name] = (help, add_arguments, fn)
        return fn

    return register


class UsageError(Exception):
    """A user mistake the CLI reports in one line."""
