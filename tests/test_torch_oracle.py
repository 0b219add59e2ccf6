"""PyTorch's nn.LSTM / nn.RNN as the oracle for the modern stack: outputs, states and gradients."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmkit.interop import from_torch, to_torch

torch.set_num_threads(1)


def _run_both(module, x_np, h0, c0, dy, dh, dc, lengths=None):
    """Forward+backward in torch (autograd) and in lstmkit; return both sets of results."""
    net = from_torch(module)
    tdt = module.weight_ih_l0.dtype
    x = torch.tensor(x_np, dtype=tdt, requires_grad=True)
    th0 = torch.tensor(h0, dtype=tdt, requires_grad=True)
    tc0 = torch.tensor(c0, dtype=tdt, requires_grad=True)
    if lengths is None:
        y, (h, c) = module(x, (th0, tc0))
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=module.batch_first,
                                                         enforce_sorted=False)
        yp, (h, c) = module(packed, (th0, tc0))
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(yp, batch_first=module.batch_first, total_length=x.shape[1 if module.batch_first else 0])
    loss = (y * torch.tensor(dy, dtype=tdt)).sum() + (h * torch.tensor(dh, dtype=tdt)).sum() + \
        (c * torch.tensor(dc, dtype=tdt)).sum()
    loss.backward()
    ky, (kh, kc) = net.forward(x_np, state=(h0, c0), lengths=lengths)
    kdx, (kdh0, kdc0) = net.backward(dy, (dh, dc))
    torch_grads = {}
    for layer in range(module.num_layers):
        for d in range(2 if module.bidirectional else 1):
            sfx = f"_l{layer}{'_reverse' if d else ''}"
            pre = f"l{layer}{'_reverse' if d else ''}."
            torch_grads[pre + "W"] = getattr(module, "weight_ih" + sfx).grad.numpy()
            torch_grads[pre + "R"] = getattr(module, "weight_hh" + sfx).grad.numpy()
            torch_grads[pre + "b"] = getattr(module, "bias_ih" + sfx).grad.numpy()
            if module.proj_size:
                torch_grads[pre + "Wr"] = getattr(module, "weight_hr" + sfx).grad.numpy()
            # PyTorch's two biases get the same gradient; lstmkit's single bias gets it once.
            np.testing.assert_allclose(torch_grads[pre + "b"], getattr(module, "bias_hh" + sfx).grad.numpy(),
                                       rtol=1e-5, atol=1e-6)
    ours = {"y": ky, "h": kh, "c": kc, "dx": kdx, "dh0": kdh0, "dc0": kdc0, **{k: net.grads[k] for k in torch_grads}}
    theirs = {"y": y.detach().numpy(), "h": h.detach().numpy(), "c": c.detach().numpy(), "dx": x.grad.numpy(),
              "dh0": th0.grad.numpy(), "dc0": tc0.grad.numpy(), **torch_grads}
    return ours, theirs


def _compare(ours, theirs, tol):
    for k in theirs:
        scale = max(1.0, float(np.abs(theirs[k]).max()))
        err = float(np.abs(ours[k] - theirs[k]).max()) / scale
        assert err <= tol, f"{k}: max error {err:.3g} > {tol}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(T=st.integers(1, 7), B=st.integers(1, 4), I=st.integers(1, 5), H=st.integers(1, 6),
       layers=st.integers(1, 3), bidir=st.booleans(), batch_first=st.booleans(), packed=st.booleans(),
       dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 2**31 - 1))
def test_lstm_matches_torch(T, B, I, H, layers, bidir, batch_first, packed, dtype, seed):
    torch.manual_seed(seed % 10_000)
    rng = np.random.default_rng(seed)
    tdt = torch.float64 if dtype == "float64" else torch.float32
    module = torch.nn.LSTM(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first).to(tdt)
    D = 2 if bidir else 1
    shape = (B, T, I) if batch_first else (T, B, I)
    x = rng.normal(size=shape).astype(dtype)
    h0, c0, dh, dc = (rng.normal(size=(layers * D, B, H)).astype(dtype) for _ in range(4))
    dy = rng.normal(size=shape[:2] + (D * H,)).astype(dtype)
    lengths = None
    if packed:
        lengths = rng.integers(1, T + 1, size=B)
        steps = np.arange(T)[None, :] if batch_first else np.arange(T)[:, None]
        lens = lengths[:, None] if batch_first else lengths[None, :]
        dy = dy * (steps < lens)[..., None]
    ours, theirs = _run_both(module, x, h0, c0, dy, dh, dc, lengths)
    _compare(ours, theirs, 1e-9 if dtype == "float64" else 1e-4)


def test_round_trip_reproduces_the_module():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    back = to_torch(from_torch(m))
    sd, sb = m.state_dict(), back.state_dict()
    assert sd.keys() == sb.keys()
    for k in sd:
        if "weight" in k:
            assert torch.equal(sd[k], sb[k]), k
    for k in sd:
        if k.startswith("bias_ih"):
            hh = k.replace("bias_ih", "bias_hh")
            torch.testing.assert_close(sd[k] + sd[hh], sb[k] + sb[hh], rtol=0, atol=1e-15)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x)[0], back(x)[0], rtol=0, atol=1e-14)
    assert back.batch_first and back.bidirectional and back.num_layers == 2


def test_rnn_matches_torch():
    torch.manual_seed(1)
    m = torch.nn.RNN(3, 5, num_layers=2).double()
    net = from_torch(m)
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    y, h = m(torch.from_numpy(x))
    ky, (kh,) = net.forward(x)
    np.testing.assert_allclose(ky, y.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(kh, h.detach().numpy(), atol=1e-12)
    np.testing.assert_array_equal(to_torch(net).weight_hh_l1.detach().numpy(), m.weight_hh_l1.detach().numpy())


def test_interop_refuses_what_torch_cannot_hold():
    from lstmkit import LSTM

    with pytest.raises(ValueError, match="standard cell"):
        to_torch(LSTM(2, 3, variant="vanilla"))
    with pytest.raises(ValueError, match="no torch counterpart"):
        to_torch(LSTM(2, 3, cell="lstm1997"))
    for opts in ({"layer_norm": True}, {"zoneout_cell": 0.1}, {"recurrent_dropout": 0.2}):
        with pytest.raises(ValueError, match="standard cell"):
            to_torch(LSTM(2, 3, **opts))
    with pytest.raises(TypeError, match="nn.LSTM"):
        from_torch(torch.nn.GRU(2, 3))


@pytest.mark.parametrize("layers,bidir,packed,dtype", [(1, False, False, "float64"), (2, True, True, "float64"),
                                                      (3, False, True, "float64"), (2, True, False, "float32")])
def test_lstmp_matches_torch(layers, bidir, packed, dtype):
    """LSTMP (Sak et al. 2014): nn.LSTM(proj_size=P) against lstmkit's proj_size, weights via the interop."""
    T, B, I, H, P = 6, 3, 4, 5, 2
    torch.manual_seed(layers)
    rng = np.random.default_rng(layers)
    tdt = torch.float64 if dtype == "float64" else torch.float32
    module = torch.nn.LSTM(I, H, num_layers=layers, bidirectional=bidir, proj_size=P).to(tdt)
    D = 2 if bidir else 1
    x = rng.normal(size=(T, B, I)).astype(dtype)
    h0, dh = (rng.normal(size=(layers * D, B, P)).astype(dtype) for _ in range(2))
    c0, dc = (rng.normal(size=(layers * D, B, H)).astype(dtype) for _ in range(2))
    dy = rng.normal(size=(T, B, D * P)).astype(dtype)
    lengths = None
    if packed:
        lengths = np.array([6, 2, 4])
        dy = dy * (np.arange(T)[:, None] < lengths[None, :])[..., None]
    ours, theirs = _run_both(module, x, h0, c0, dy, dh, dc, lengths)
    assert ours["y"].shape == (T, B, D * P) and "l0.Wr" in theirs
    _compare(ours, theirs, 1e-9 if dtype == "float64" else 1e-4)
    back = to_torch(from_torch(module))
    assert back.proj_size == P
    for k, v in module.state_dict().items():
        if "weight" in k:
            assert torch.equal(v, back.state_dict()[k]), k
