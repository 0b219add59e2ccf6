"""Long continual streams: every cell stays finite; the 1997 cell's state drift is detected."""
import numpy as np
import pytest

from lstmkit import LSTM
from lstmkit.health import DriftMonitor, NumericalError, check_finite

CHUNK, CHUNKS = 20_000, 50      # 10^6 steps, state carried from chunk to chunk


@pytest.mark.parametrize("cell,opts", [("lstm", {}), ("lstm1997", {"block_size": 2}),
                                       ("lstm1997", {"forget_gate": True}), ("rnn", {})])
def test_million_step_stream_stays_finite(cell, opts):
    rng = np.random.default_rng(0)
    net = LSTM(2, 4, cell=cell, seed=1, **opts)
    monitor = DriftMonitor(net)
    state = None
    for _ in range(CHUNKS):
        x = rng.uniform(-1, 1, size=(CHUNK, 1, 2))
        y, state = net.forward(x, state=state)
        assert np.isfinite(y).all() and all(np.isfinite(s).all() for s in state)
        report = monitor.observe()
    assert report.steps == CHUNK * CHUNKS
    if cell == "lstm1997" and not opts.get("forget_gate"):
        # Inputs of one sign on average make s(t) grow: the drift the paper describes.
        assert report.drifting, report.message()
        assert "drift" in report.message()
    elif cell in ("lstm", "lstm1997"):
        assert not report.drifting, report.message()


def test_check_finite_names_the_problem():
    check_finite("loss", 1.0)
    with pytest.raises(NumericalError, match=r"loss became NaN at step 7; lower the learning rate"):
        check_finite("loss", float("nan"), step=7)
    with pytest.raises(NumericalError, match="gradient became Inf"):
        check_finite("gradient", np.array([1.0, np.inf]))
