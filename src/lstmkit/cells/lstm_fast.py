"""Fast kernels for the standard LSTM cell (torch.nn.LSTM's): what ``LSTMCell`` runs under ``kernel="auto"``.

The cell is the one of ``lstm.py`` with forget gate, no peepholes, no coupling, no gate recurrence,
logistic gates and tanh cell input and output. Per step t, gates packed i, f, z, o (PyTorch's i, f, g, o)::

    a(t) = x(t) W^T + b + h(t-1) R^T          pre-activations, (B, 4H)              (F1)
    i = sigma(a_i), f = sigma(a_f), z = tanh(a_z), o = sigma(a_o)                   (F2)
    c(t) = f c(t-1) + i z                                                           (F3)
    s(t) = tanh(c(t)),  h(t) = o s(t) = y(t)                                        (F4)

Backward, with every derivative taken through an output (sigma' = y(1-y), tanh' = 1-y^2)::

    d_h  = dy(t) + d_a(t+1) R                 error reaching h(t)                   (F4')
    d_c  = d_c(t+1) + d_h o (1 - s^2)         error reaching c(t)                   (F4')
    d_a_o = d_h s o(1-o),  d_a_i = d_c z i(1-i),  d_a_f = d_c c(t-1) f(1-f),
    d_a_z = d_c i (1-z^2)                                                           (F2', F3')
    d_c(t) -> step t-1:  d_c f                                                      (F3')
    dW = sum_t d_a^T x,  dR = sum_t d_a^T h(t-1),  db = sum_t d_a,  dx = d_a W      (F1')

A masked step leaves h and c unchanged and outputs zero: its d_a is zero and the state errors pass
through it unchanged. ``truncated=True`` drops the d_a R term of (F4'): error reaches h(t-1) only from
dy(t-1), and flows back in time only through c (as ``lstm.py`` defines it).

What makes these kernels fast, and why each choice (figures from benchmarks/RESULTS.md):

* exp without libm. Numba's ``math.exp``/``math.tanh`` are scalar library calls (2-11 ns per
  element; no SVML with the PyPI llvmlite). :func:`sigmoid` and :func:`tanh` below are branch-free
  (Cody-Waite reduction, a Taylor polynomial, the power of two assembled from exponent bits), so the
  elementwise loop of a step compiles to AVX-512/AVX2 vector code: about 0.3-0.4 ns per element
  (float32). tanh goes through expm1, so it keeps its relative accuracy near 0 (2 sigma(2x) - 1
  would not). float32: relative error <= 2e-7; float64: a degree-13 polynomial, ~1e-16 relative,
  so float64 results equal the reference kernels to ~1e-15.
* One fused loop per step does (F2)-(F4) for a row, writes the cache and the output; backward
  recomputes s = tanh(c) instead of storing it (cheaper than the memory traffic).
* The batch is split into chunks, one per core (``prange``), and each chunk runs the *whole* time
  loop: rows of the batch never interact, so there is no synchronisation per step.
* The recurrent product of a step is an explicit loop (small H: a BLAS call costs more than the
  product) or ``np.dot`` into SciPy's BLAS with one BLAS thread per chunk (large H). Two-thread
  OpenBLAS on small per-step products is erratic on small VMs; the big products (input projection,
  weight gradients, dx) stay outside the time loop in NumPy, on every core.
* ``need_cache=False`` (inference) keeps only two time slices of h and c.

Kernels take ``error_model="numpy"``: with Python's error model a float division may raise, and the
possible early exit stops LLVM from vectorising the loop. No ``fastmath``: float64 must keep IEEE
semantics for the gradient checks, and float32 does not need it to vectorise.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

from .. import activations as act
from .._numba import njit

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# ======================================================================== exp, sigmoid, tanh
# e^x = 2^k e^r with k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2] (Cody-Waite: ln 2 split in a
# short high part, whose product with k is exact, and a low part), e^r - 1 = r + r^2 P(r) by Taylor.
# Returning (2^k, e^r - 1) gives exp = s + s q and expm1 = s q + (s - 1), both accurate.


@intrinsic
def _pow2_bits(typingctx, kf):
    """2.0**k for an integral float k in the normal exponent range, from the exponent bits (no libm call)."""
    if not isinstance(kf, types.Float):
        return None

    def codegen(context, builder, signature, args):
        (k,) = args
        if kf.bitwidth == 32:
            itype, bias, shift = ir.IntType(32), 127, 23
        else:
            itype, bias, shift = ir.IntType(64), 1023, 52
        ki = builder.fptosi(k, itype)
        bits = builder.shl(builder.add(ki, ir.Constant(itype, bias)), ir.Constant(itype, shift))
        return builder.bitcast(bits, context.get_value_type(kf))

    return kf(kf), codegen


def _pow2(k):
    """Python form of :func:`_pow2_bits` (runs under NUMBA_DISABLE_JIT=1)."""
    return type(k)(np.ldexp(type(k)(1.0), int(k)))


@overload(_pow2)
def _pow2_jit(k):
    return lambda k: _pow2_bits(k)


_f32 = np.float32
_LOG2E_32, _LN2HI_32, _LN2LO_32 = _f32(1.4426950408889634), _f32(0.693359375), _f32(-2.12194440e-4)
_XMAX_32, _XMIN_32 = _f32(88.0), _f32(-87.0)   # 2^k stays a normal number: k in [-126, 127]
_T32 = tuple(_f32(1.0 / math.factorial(n)) for n in range(2, 8))      # 1/2! .. 1/7!: error ~5e-9
_LOG2E_64, _LN2HI_64, _LN2LO_64 = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
_XMAX_64, _XMIN_64 = 709.0, -708.0             # k in [-1022, 1023]
_T64 = tuple(1.0 / math.factorial(n) for n in range(2, 14))           # 1/2! .. 1/13!: error ~4e-18


@njit(inline="always", error_model="numpy")
def _expm1_split32(x):
    """(s, q) with e^x = s (1 + q), s = 2^k; x clamped to [-87, 88] (NaN passes through)."""
    x = _XMAX_32 if x > _XMAX_32 else x
    x = _XMIN_32 if x < _XMIN_32 else x
    k = np.floor(x * _LOG2E_32 + _f32(0.5))
    r = (x - k * _LN2HI_32) - k * _LN2LO_32
    p = _T32[5]
    p = p * r + _T32[4]
    p = p * r + _T32[3]
    p = p * r + _T32[2]
    p = p * r + _T32[1]
    p = p * r + _T32[0]
    return _pow2(k), r + r * r * p


@njit(inline="always", error_model="numpy")
def _expm1_split64(x):
    """(s, q) with e^x = s (1 + q), s = 2^k; x clamped to [-708, 709] (NaN passes through)."""
    x = _XMAX_64 if x > _XMAX_64 else x
    x = _XMIN_64 if x < _XMIN_64 else x
    k = np.floor(x * _LOG2E_64 + 0.5)
    r = (x - k * _LN2HI_64) - k * _LN2LO_64
    p = _T64[11]
    for n in range(10, -1, -1):
        p = p * r + _T64[n]
    return _pow2(k), r + r * r * p


def _expm1_split(x):
    """Dispatch on the float width (Python form; the jitted form is chosen at compile time)."""
    if isinstance(x, np.float32):
        return _expm1_split32(x)
    return _expm1_split64(x)


@overload(_expm1_split)
def _expm1_split_jit(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: _expm1_split32(x)
    if isinstance(x, types.Float):
        return lambda x: _expm1_split64(x)
    return None


def _one(x):
    """1 in x's float type (a literal 1.0 next to a float32 would promote the arithmetic to float64)."""
    return type(x)(1.0)


@overload(_one)
def _one_jit(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: np.float32(1.0)
    return lambda x: 1.0


@njit(inline="always", error_model="numpy")
def fast_exp(x):
    """e^x in x's precision (clamped to the normal range of the float type)."""
    s, q = _expm1_split(x)
    return s + s * q


@njit(inline="always", error_model="numpy")
def sigmoid(x):
    """1 / (1 + e^-x); relative error ~1e-7 (float32) / ~1e-16 (float64) wherever the result is normal."""
    s, q = _expm1_split(-x)
    one = _one(x)
    return one / (one + (s + s * q))


@njit(inline="always", error_model="numpy")
def tanh(x):
    """tanh x = -u / (2 + u) with u = expm1(-2|x|), sign restored; accurate near 0 and in the tails."""
    ax = abs(x)
    s, q = _expm1_split(-(ax + ax))
    one = _one(x)
    u = s * q + (s - one)
    t = -u / ((one + one) + u)
    return t if x >= 0 else -t


@njit(error_model="numpy")
def _apply_vec(code, x, out):
    """out = f(x) elementwise over 1-D arrays; code 0: exp, 1: sigmoid, 2: tanh (for tests and timing)."""
    for n in range(x.shape[0]):
        if code == 0:
            out[n] = fast_exp(x[n])
        elif code == 1:
            out[n] = sigmoid(x[n])
        else:
            out[n] = tanh(x[n])


def apply(name: str, x: np.ndarray) -> np.ndarray:
    """Evaluate this module's ``"exp"``, ``"sigmoid"`` or ``"tanh"`` on an array (float32 or float64)."""
    codes = {"exp": 0, "sigmoid": 1, "tanh": 2}
    if name not in codes:
        raise ValueError(f"apply: name must be one of {', '.join(codes)}, got {name!r}")
    x = np.asarray(x)
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"apply: x must be float32 or float64, got {x.dtype}; fix: x.astype(np.float32)")
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    _apply_vec(codes[name], flat, out)
    return out.reshape(x.shape)


# ======================================================================== per-chunk kernels
@njit(error_model="numpy")
def _forward_rows(G, RT, hs, cs, y, mask, b0, b1, keep, use_blas, acc):
    """Run (F1)-(F4) over all steps for batch rows b0:b1.

    G (T, B, 4H) holds x W^T + b on entry and i, f, z, o on exit (zero at masked steps); hs, cs
    (T+1, B, H) with keep (h, c of every step; slot 0 = initial state) or (2, B, H) without (slots
    alternate); y (T, B, H) output; acc (b1-b0, 4H) scratch for the recurrent product.
    """
    T = G.shape[0]
    H = hs.shape[2]
    H2, H3, H4 = 2 * H, 3 * H, 4 * H
    zero = G.dtype.type(0.0)
    for t in range(T):
        tp = t if keep else t % 2
        tn = t + 1 if keep else (t + 1) % 2
        hp, cp, hn, cn = hs[tp], cs[tp], hs[tn], cs[tn]
        gt = G[t]
        if use_blas:
            np.dot(hp[b0:b1], RT, acc)                                         # (F1) h(t-1) R^T
        for b in range(b0, b1):
            a = acc[b - b0]                                                    # (4H,)
            g = gt[b]
            if not mask[t, b]:                                                 # padding: carry the state
                for j in range(H):
                    hn[b, j] = hp[b, j]
                    cn[b, j] = cp[b, j]
                    y[t, b, j] = zero
                for n in range(H4):
                    g[n] = zero
                continue
            if use_blas:
                for n in range(H4):
                    a[n] += g[n]                                               # (F1) + x W^T + b
            else:
                for n in range(H4):
                    a[n] = g[n]
                hb = hp[b]
                k = 0
                while k + 4 <= H:                                              # (F1) four rows of R^T a pass
                    h0, h1, h2, h3 = hb[k], hb[k + 1], hb[k + 2], hb[k + 3]
                    r0, r1, r2, r3 = RT[k], RT[k + 1], RT[k + 2], RT[k + 3]
                    for n in range(H4):
                        a[n] += h0 * r0[n] + h1 * r1[n] + h2 * r2[n] + h3 * r3[n]
                    k += 4
                while k < H:
                    h0 = hb[k]
                    r0 = RT[k]
                    for n in range(H4):
                        a[n] += h0 * r0[n]
                    k += 1
            for j in range(H):
                i = sigmoid(a[j])                                              # (F2)
                f = sigmoid(a[H + j])                                          # (F2)
                z = tanh(a[H2 + j])                                            # (F2)
                o = sigmoid(a[H3 + j])                                         # (F2)
                c = f * cp[b, j] + i * z                                       # (F3)
                h = o * tanh(c)                                                # (F4)
                cn[b, j] = c
                hn[b, j] = h
                y[t, b, j] = h
                g[j] = i
                g[H + j] = f
                g[H2 + j] = z
                g[H3 + j] = o


@njit(error_model="numpy")
def _backward_rows(G, R, cs, dy, mask, b0, b1, truncated, use_blas, dh, dc, dA, acc):
    """Fill dA (T, B, 4H) with d_a for rows b0:b1, (F4')-(F2'); dh, dc (B, H): final-state errors in,
    initial-state errors out. acc (b1-b0, H) is scratch for the BLAS product."""
    T = G.shape[0]
    H = dh.shape[1]
    H2, H3, H4 = 2 * H, 3 * H, 4 * H
    zero = G.dtype.type(0.0)
    one = G.dtype.type(1.0)
    for t in range(T - 1, -1, -1):
        gt = G[t]
        dat = dA[t]
        for b in range(b0, b1):
            g = gt[b]
            da = dat[b]
            if not mask[t, b]:                       # state carried unchanged: dh, dc pass through
                for n in range(H4):
                    da[n] = zero
                continue
            for j in range(H):
                i, f, z, o = g[j], g[H + j], g[H2 + j], g[H3 + j]
                s = tanh(cs[t + 1, b, j])                                      # (F4) recomputed
                d_h = dy[t, b, j] + dh[b, j]                                   # (F4')
                d_c = dc[b, j] + d_h * o * (one - s * s)                       # (F4')
                da[j] = d_c * z * (i * (one - i))                              # (F2') d_a_i
                da[H + j] = d_c * cs[t, b, j] * (f * (one - f))                # (F2') d_a_f
                da[H2 + j] = d_c * i * (one - z * z)                           # (F2') d_a_z
                da[H3 + j] = d_h * s * (o * (one - o))                         # (F2') d_a_o
                dc[b, j] = d_c * f                                             # (F3') to step t-1
            if truncated:
                for j in range(H):
                    dh[b, j] = zero
            elif not use_blas:                                                 # (F4') d_a R, four rows a pass
                d = dh[b]
                for j in range(H):
                    d[j] = zero
                k = 0
                while k + 4 <= H4:
                    a0, a1, a2, a3 = da[k], da[k + 1], da[k + 2], da[k + 3]
                    r0, r1, r2, r3 = R[k], R[k + 1], R[k + 2], R[k + 3]
                    for j in range(H):
                        d[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j]
                    k += 4
        if use_blas and not truncated:
            np.dot(dat[b0:b1], R, acc)                                         # (F4') d_a R
            for b in range(b0, b1):
                if mask[t, b]:
                    for j in range(H):
                        dh[b, j] = acc[b - b0, j]


@njit(error_model="numpy", parallel=True)
def _forward_chunks(G, RT, hs, cs, y, mask, bounds, keep, use_blas, acc):
    """_forward_rows on each chunk bounds[k]:bounds[k+1] of the batch, the chunks in parallel."""
    for k in prange(bounds.shape[0] - 1):
        b0, b1 = bounds[k], bounds[k + 1]
        _forward_rows(G, RT, hs, cs, y, mask, b0, b1, keep, use_blas, acc[b0:b1])


@njit(error_model="numpy", parallel=True)
def _backward_chunks(G, R, cs, dy, mask, bounds, truncated, use_blas, dh, dc, dA, acc):
    """_backward_rows on each chunk of the batch, the chunks in parallel."""
    for k in prange(bounds.shape[0] - 1):
        b0, b1 = bounds[k], bounds[k + 1]
        _backward_rows(G, R, cs, dy, mask, b0, b1, truncated, use_blas, dh, dc, dA, acc[b0:b1])


# ======================================================================== plan, BLAS threads
class Plan(NamedTuple):
    """How a call runs: the per-step product (explicit loops or BLAS) and the batch chunks."""

    use_blas: bool
    bounds: np.ndarray  # (n_chunks + 1,) int64 row boundaries

    @property
    def n_chunks(self) -> int:
        return len(self.bounds) - 1


# Below this hidden size the per-step product is an explicit loop: a BLAS call's fixed cost exceeds
# the product's (measured: benchmarks/RESULTS.md).
BLAS_MIN_HIDDEN = 64
# A chunk gets at least this many rows: fewer do not pay for the thread hand-off.
MIN_ROWS_PER_CHUNK = 4


def plan(B: int, H: int, strategy: str | None = None, n_threads: int | None = None) -> Plan:
    """Choose loops/BLAS by H and the number of batch chunks by B and the threads Numba may use.

    ``strategy`` forces a choice: "loops" or "blas" (one chunk unless n_threads says otherwise),
    "loops-parallel" or "blas-parallel" (one chunk per thread, at least one row each).
    """
    nt = numba.get_num_threads() if n_threads is None else int(n_threads)
    if strategy is None:
        use_blas = H >= BLAS_MIN_HIDDEN
        n = max(1, min(nt, B // MIN_ROWS_PER_CHUNK))
    elif strategy in ("loops", "blas", "loops-parallel", "blas-parallel"):
        use_blas = strategy.startswith("blas")
        n = max(1, min(nt if strategy.endswith("parallel") or n_threads is not None else 1, B))
    else:
        raise ValueError(f"strategy must be None, 'loops', 'blas', 'loops-parallel' or 'blas-parallel', "
                         f"got {strategy!r}")
    bounds = np.linspace(0, B, n + 1).round().astype(np.int64)
    return Plan(bool(use_blas), bounds)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (built once: scanning them takes milliseconds)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl is optional: without it BLAS keeps its own thread count
        return None
    return ThreadpoolController()


class _OneBlasThread:
    """Context: BLAS libraries use one thread inside (the chunks are the parallelism), restored after."""

    def __init__(self, active: bool):
        self.active = active
        self._limiter = None

    def __enter__(self):
        ctl = _blas_controller() if self.active else None
        if ctl is not None:
            self._limiter = ctl.limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._limiter is not None:
            self._limiter.restore_original_limits()
        return False


def _run_forward(G, RT, hs, cs, y, mask, p: Plan, keep: bool) -> None:
    H4 = G.shape[2]
    acc = np.empty((G.shape[1], H4), dtype=G.dtype)                            # (B, 4H) scratch
    with _OneBlasThread(p.use_blas):
        if p.n_chunks == 1:
            _forward_rows(G, RT, hs, cs, y, mask, 0, G.shape[1], keep, p.use_blas, acc)
        else:
            _forward_chunks(G, RT, hs, cs, y, mask, p.bounds, keep, p.use_blas, acc)


def _run_backward(G, R, cs, dy, mask, p: Plan, truncated: bool, dh, dc, dA) -> None:
    acc = np.empty_like(dh)                                                    # (B, H) scratch
    with _OneBlasThread(p.use_blas and not truncated):
        if p.n_chunks == 1:
            _backward_rows(G, R, cs, dy, mask, 0, dh.shape[0], truncated, p.use_blas, dh, dc, dA, acc)
        else:
            _backward_chunks(G, R, cs, dy, mask, p.bounds, truncated, p.use_blas, dh, dc, dA, acc)


# ======================================================================== the cell interface
def supports(cell) -> bool:
    """True for the standard configuration (torch.nn.LSTM's cell) in float32 or float64."""
    opts = getattr(cell, "options", None)
    if opts is None or np.dtype(getattr(cell, "dtype", None)) not in SUPPORTED_DTYPES:
        return False
    want_true = ("forget_gate", "input_gate", "output_gate")
    want_false = ("coupled", "peepholes", "full_gate_recurrence")
    if not all(bool(opts.get(k, True)) for k in want_true):
        return False
    if any(bool(opts.get(k, False)) for k in want_false):
        return False
    want_act = {"gate_activation": act.LOGISTIC, "cell_input_activation": act.TANH,
                "cell_output_activation": act.TANH}
    for key, code in want_act.items():
        try:
            if act.get(opts.get(key, "")).code != code:
                return False
        except (TypeError, ValueError):
            return False
    return True


class FastCache(NamedTuple):
    """What backward and internals need from forward."""

    x: np.ndarray      # (T, B, I)
    mask: np.ndarray   # (T, B) bool
    G: np.ndarray      # (T, B, 4H) i, f, z, o; zero at masked steps
    hs: np.ndarray     # (T+1, B, H) h(0..T)
    cs: np.ndarray     # (T+1, B, H) c(0..T)
    plan: Plan


def _state_or_zeros(s, B, H, dt):
    return np.zeros((B, H), dtype=dt) if s is None else np.asarray(s, dtype=dt)


def forward(cell, params, x, state0, mask=None, *, need_cache: bool = True, strategy: str | None = None):
    """Return ``(y, (hT, cT), cache)``; ``need_cache=False`` keeps no activations (cache is None).

    ``strategy`` forces a kernel strategy (see :func:`plan`); None chooses by batch and hidden size.
    """
    dt = np.dtype(cell.dtype)
    H = cell.hidden_size
    x = np.ascontiguousarray(x, dtype=dt)
    if x.ndim != 3 or x.shape[2] != cell.input_size:
        raise ValueError(f"lstm_fast.forward: x expects shape (T, B, {cell.input_size}), got {x.shape}")
    T, B, I = x.shape
    if mask is None:
        mask = np.ones((T, B), dtype=np.bool_)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    if state0 is None:
        state0 = (None, None)
    h0 = _state_or_zeros(state0[0], B, H, dt)
    c0 = _state_or_zeros(state0[1], B, H, dt)
    p = plan(B, H, strategy)

    # (F1) input projection for all steps in one product; only the recurrence runs step by step.
    G = np.empty((T, B, 4 * H), dtype=dt)                                       # (T, B, 4H)
    G2 = G.reshape(T * B, 4 * H)
    np.matmul(x.reshape(T * B, I), params["W"].T, out=G2)
    G2 += params["b"]
    n_slots = T + 1 if need_cache else 2
    hs = np.empty((n_slots, B, H), dtype=dt)                                    # h(0..T) or 2 slots
    cs = np.empty((n_slots, B, H), dtype=dt)
    hs[0], cs[0] = h0, c0
    y = np.empty((T, B, H), dtype=dt)                                           # (T, B, H)
    RT = np.ascontiguousarray(params["R"].T, dtype=dt)                          # (H, 4H)
    _run_forward(G, RT, hs, cs, y, mask, p, need_cache)
    last = T if need_cache else T % 2
    stateT = (hs[last].copy(), cs[last].copy())
    cache = FastCache(x, mask, G, hs, cs, p) if need_cache else None
    return y, stateT, cache


def backward(cell, params, cache, dy, dstate, grads, truncated=False):
    """Return ``(dx, (dh0, dc0))``; add dW, dR, db into ``grads``."""
    if cache is None:
        raise ValueError("lstm_fast.backward: got cache=None (a forward with need_cache=False); "
                         "fix: run forward with need_cache=True before backward")
    x, mask, G, hs, cs, p = cache
    T, B, H4 = G.shape
    H = H4 // 4
    dt = G.dtype
    dy = np.ascontiguousarray(dy, dtype=dt)
    if dy.shape != (T, B, H):
        raise ValueError(f"lstm_fast.backward: dy expects shape {(T, B, H)}, got {dy.shape}")
    if dstate is None:
        dstate = (None, None)
    dh = np.array(_state_or_zeros(dstate[0], B, H, dt), dtype=dt, copy=True)    # (B, H) in: dhT, out: dh0
    dc = np.array(_state_or_zeros(dstate[1], B, H, dt), dtype=dt, copy=True)    # (B, H)
    dA = np.empty((T, B, H4), dtype=dt)                                         # (T, B, 4H) d_a per step
    R = np.ascontiguousarray(params["R"], dtype=dt)                             # (4H, H)
    _run_backward(G, R, cs, dy, mask, p, bool(truncated), dh, dc, dA)

    # (F1') weight gradients and dx as large products over all steps at once.
    dA2 = dA.reshape(T * B, H4)
    grads["W"] += dA2.T @ x.reshape(T * B, -1)
    grads["R"] += dA2.T @ hs[:-1].reshape(T * B, H)
    grads["b"] += dA2.sum(axis=0)
    dx = (dA2 @ params["W"]).reshape(T, B, -1)
    return dx, (dh, dc)


def internals(cell, cache) -> dict[str, np.ndarray]:
    """i, f, z, o, c, h of the last forward, each (T, B, H), zero at masked steps."""
    if cache is None:
        raise ValueError("lstm_fast.internals: got cache=None (a forward with need_cache=False); "
                         "fix: run forward with need_cache=True")
    x, mask, G, hs, cs, _ = cache
    H = G.shape[2] // 4
    m = mask[:, :, None]
    out = {name: G[:, :, k * H:(k + 1) * H].copy() for k, name in enumerate(("i", "f", "z", "o"))}
    out["c"] = cs[1:] * m
    out["h"] = hs[1:] * m
    return out
