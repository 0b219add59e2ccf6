"""The compiled kernels and NUMBA_DISABLE_JIT=1 (plain Python) compute the same thing."""
import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = r"""
import json, sys
import numpy as np
from lstmkit import LSTM, CELLS
cases = [("lstm", {}), ("lstm", {"variant": "FGR"}), ("lstm", {"kernel": "reference"}),
         ("lstm1997", {"block_size": 2, "forget_gate": True, "peepholes": True, "hidden_units": 1}), ("rnn", {})]
out = {}
rng = np.random.default_rng(0)
x = rng.normal(size=(5, 2, 3))
for cell, opts in cases:
    net = LSTM(3, 4, num_layers=2, bidirectional=True, cell=cell, seed=1, **opts)
    y, s = net.forward(x, lengths=np.array([5, 3]))
    dx, _ = net.backward(np.ones_like(y))
    out[cell + json.dumps(opts)] = [y.ravel().tolist(), dx.ravel().tolist(), net.grad_flat.tolist()]
json.dump(out, sys.stdout)
"""


def _run(disable_jit: bool) -> dict:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1" if disable_jit else "0"}
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def test_jit_and_python_agree():
    jit, py = _run(False), _run(True)
    assert jit.keys() == py.keys() and len(jit) == 5
    for key in jit:
        for a, b in zip(jit[key], py[key]):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-11, atol=1e-12, err_msg=key)
