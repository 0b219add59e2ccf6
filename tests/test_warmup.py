"""``lstmkit warmup`` fills Numba's on-disk cache: a later process then compiles nothing for those kernels.

Each check runs child processes over their own empty NUMBA_CACHE_DIR and counts Numba's compile events
(they fire when a kernel is compiled, not when its machine code is loaded from the cache). No timings:
speed is measured in benchmarks/bench_compile.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lstmkit.warmup import WARMUPS, warm

COUNT = r"""
import json, sys
from numba.core import event as ev
compiled = []
class Listener(ev.Listener):
    def on_start(self, event): pass
    def on_end(self, event): compiled.append(event.data["dispatcher"].py_func.__name__)
ev.register("numba:compile", Listener())
from lstmkit.warmup import warm
warm(sys.argv[1:])
print(json.dumps(compiled))
"""


def _compiled(cache_dir, names) -> list[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run([sys.executable, "-c", COUNT, *names], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("names", [["baselines"], ["rtrl1997"]])
def test_second_process_compiles_nothing(tmp_path, names):
    first = _compiled(tmp_path, names)
    assert first, "an empty cache must make the first process compile (else this test shows nothing)"
    assert _compiled(tmp_path, names) == []


def test_cli_warms_and_refuses_unknown_names(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "lstmkit.cli", "warmup", "--only", "baselines"], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "baselines" in ok.stdout and str(tmp_path) in ok.stdout   # says where the cache is
    bad = subprocess.run([sys.executable, "-m", "lstmkit.cli", "warmup", "--only", "nope"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert "expected one of" in bad.stderr and "'nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_warm_refuses_unknown_names_and_lists_every_family():
    with pytest.raises(ValueError, match="unknown warm-up 'nope'"):
        warm(["nope"])
    assert set(WARMUPS) == {"lstm", "cells", "rtrl1997", "baselines"}
