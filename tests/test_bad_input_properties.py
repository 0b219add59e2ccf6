"""Property tests: malformed arrays to the public entry points get a clear TypeError/ValueError, never a crash."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lstmkit
from lstmkit import LSTM, Network, Readout

NET = LSTM(3, 2, num_layers=2, bidirectional=True, seed=0)
MODEL = Network(LSTM(3, 2, seed=0), Readout(2, 1, "logistic", seed=1))

dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128, np.uint8])
arrays = hnp.arrays(dtype=dtypes, shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
                    elements=None)


def _clean(fn):
    """Call fn; it may succeed or raise TypeError/ValueError with a one-line message naming something."""
    try:
        fn()
    except (TypeError, ValueError) as e:
        msg = str(e)
        assert msg and "\n" not in msg, repr(msg)
        assert ":" in msg, f"message does not name the argument: {msg!r}"
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=arrays)
def test_forward_refuses_malformed_inputs_cleanly(x):
    ok = _clean(lambda: NET.forward(x))
    if ok:  # what is accepted is a real float sequence of the right width, finite and non-empty
        assert x.dtype.kind == "f" and x.ndim in (2, 3) and x.shape[-1] == 3 and x.size and np.isfinite(x).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lengths=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
                          elements=st.integers(-3, 8)),
       T=st.integers(1, 5))
def test_lengths_are_checked(lengths, T):
    x = np.zeros((T, 3, 3))
    ok = _clean(lambda: NET.forward(x, lengths=lengths))
    if ok:
        assert lengths.shape == (3,) and lengths.min() >= 1 and lengths.max() <= T


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=st.lists(arrays, min_size=0, max_size=3))
def test_states_are_checked(state):
    x = np.zeros((4, 2, 3))
    ok = _clean(lambda: NET.forward(x, state=tuple(state)))
    if ok:
        assert len(state) == 2 and all(s.shape == (4, 2, 2) for s in state)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dy=arrays)
def test_backward_checks_its_gradient(dy):
    MODEL.forward(np.zeros((4, 2, 3)))
    ok = _clean(lambda: MODEL.backward(dy))
    if ok:
        assert dy.shape == (4, 2, 1)


@pytest.mark.parametrize("kwargs", [dict(input_size=0, hidden_size=2), dict(input_size=2, hidden_size=-1),
                                    dict(input_size=2.5, hidden_size=2), dict(input_size=2, hidden_size=2, num_layers=0),
                                    dict(input_size=2, hidden_size=2, cell="LSTM97"),
                                    dict(input_size=2, hidden_size=3, cell="lstm1997", block_size=2),
                                    dict(input_size=2, hidden_size=2, dtype="float16"),
                                    dict(input_size=2, hidden_size=2, variant="XYZ")])
def test_constructor_arguments_are_checked(kwargs):
    assert not _clean(lambda: LSTM(**kwargs))


def test_estimators_check_their_data():
    est = lstmkit.LSTMRegressor()
    assert not _clean(lambda: est.fit(np.zeros((0, 3, 2)), np.zeros(0)))
    assert not _clean(lambda: est.fit(np.array([[["a"]]]), np.zeros(1)))
