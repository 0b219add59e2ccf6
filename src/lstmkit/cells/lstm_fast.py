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

What makes these kernels fast, and why each choice (figures: benchmarks/RESULTS.md):

* exp without libm. Numba's ``math.exp``/``math.tanh`` are scalar library calls (2-11 ns per
  element; no SVML with the PyPI llvmlite). :func:`sigmoid` and :func:`tanh` below are branch-free
  (Cody-Waite reduction, a Taylor polynomial, the power of two assembled from exponent bits), so the
  elementwise loop of a step compiles to AVX-512/AVX2 vector code: about 0.3-0.4 ns per element
  (float32). tanh goes through expm1, so it keeps its relative accuracy near 0 (2 sigma(2x) - 1
  would not). float32: relative error <= 2e-7; float64: a degree-13 polynomial, ~1e-16 relative,
  so float64 results equal the reference kernels to ~1e-15.
* One fused loop per step does (F2)-(F4) for a row, writes the cache and the output; backward
  recomputes s = tanh(c) instead of storing it (cheaper than the memory traffic).
* Every matrix product runs on register tiles (:func:`matmul`): 6 rows x 64 columns (float32) of C
  held in 24 AVX-512 registers across the k loop, written as an LLVM-IR intrinsic (llvm.fma: one
  rounding per multiply-add, IEEE, not fastmath). The OpenBLAS
  that NumPy/SciPy wheels ship picks its AVX2 (Haswell) kernels on this AMD CPU (family 0x1A) and
  has a fixed cost per call that dominates the small per-step products; the tiles run at about
  twice its single-thread speed, need no BLAS threads (whose idle spinning slowed everything else
  on this 2-core VM) and no SciPy. Weights are packed into panels once per call and reused by
  every step.
* The batch is split into chunks, one per core (Python threads; the kernels release the GIL), and
  each chunk runs the *whole* time loop: rows of the batch never interact, so there is no
  synchronisation per step. The products outside the time loop (input projection, weight
  gradients, dx) split their rows over the same threads.
* Small H (< 16): the per-step product is an explicit loop (a tile would be mostly padding). With
  fewer hidden units than a wide tile has columns, the weight gradients come from one product
  [x h(t-1) 1]^T d_a on wide panels (dW, dR and db at once) instead of two on narrow ones.
* ``need_cache=False`` (inference) keeps only two time slices of h and c; scratch arrays (packed
  weights, d_a) are reused from call to call (a fresh multi-megabyte array costs page faults).

Kernels take ``error_model="numpy"``: with Python's error model a float division may raise, and the
possible early exit stops LLVM from vectorising the loop. No ``fastmath``: float64 must keep IEEE
semantics for the gradient checks, and float32 does not need it to vectorise.
"""
from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .. import activations as act
from .._numba import njit
from . import lstm_toolbox

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
    """Python form of :func:`_pow2_bits` (runs under NUMBA_DISABLE_JIT=1); NaN stays NaN."""
    return k if k != k else type(k)(np.ldexp(type(k)(1.0), int(k)))


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
    t = ((one - one) - u) / ((one + one) + u)      # 0 - u, not -u: tanh(+0) is +0
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


# ======================================================================== register-tile matrix product
# C[i, :] (+)= sum_k A[i, k] B[k, :], B packed into panels of NR columns (zero-padded, k-major inside
# a panel), computed TILE_ROWS rows x NR columns at a time in vector registers. This replaces BLAS for
# every product of the cell: the OpenBLAS wheels that NumPy and SciPy ship pick their AVX2 kernels on
# this AMD CPU (family 0x1A), and a call's fixed cost dominates the small per-step products; the tile
# kernel runs the same products at about twice the single-thread speed (benchmarks/RESULTS.md).
TILE_ROWS = 6                                               # MR: rows of C per tile
_HOST_AVX512 = bool(llvm_binding.get_host_cpu_features().get("avx512f", False))
_VECTOR_BYTES = 64 if _HOST_AVX512 else 32
# Vectors per row of a wide tile: 6 x 4 accumulators + 4 B vectors use 28 of AVX-512's 32 registers;
# AVX2 has 16, so 6 x 2 + 2 there (the classic 6x16 float32 kernel). Tiles of 2 and 1 vectors a row
# serve products with few columns (N = I or H small), where a wide tile would be mostly padding.
_WIDE_VECTORS = 4 if _HOST_AVX512 else 2
K_BLOCK = 512                                               # k-rows of a panel per pass (L2 resident)
MIN_WORK_PER_THREAD = 5_000_000                             # multiply-adds that pay for a thread hand-off
M_BLOCK = 32 * TILE_ROWS                                    # rows of A per pass (L2 resident)


def tile_cols(dtype, wide=True, vectors=None) -> int:
    """NR: columns of C per tile: wide 64 float32 / 32 float64 with AVX-512, narrow (1 vector) 16 / 8."""
    nv = vectors if vectors is not None else (_WIDE_VECTORS if wide else 1)
    return nv * _VECTOR_BYTES // np.dtype(dtype).itemsize


def _make_tile_product(n_vectors, n_rows):
    """An intrinsic computing one n_rows x (n_vectors * lanes) tile of A @ B in vector registers."""

    @intrinsic
    def tile_product(typingctx, A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct):
        """Ct[r*NR:(r+1)*NR] = sum_{k<kc} A.flat[a_off + r*a_rs + k*a_cs] * Bp[b_off + k*NR : ... + NR].

        r < n_rows; rows r >= mr read row 0 (valid memory; the caller discards them). The k loop
        keeps all TILE_ROWS x NR sums in registers (phi nodes): one fused multiply-add per vector and
        no reloads of C, which Numba's auto-vectoriser cannot be talked into.
        """
        dt = getattr(A, "dtype", None)
        if not isinstance(dt, types.Float) or getattr(Bp, "dtype", None) != dt or getattr(Ct, "dtype", None) != dt:
            return None
        lanes = _VECTOR_BYTES * 8 // dt.bitwidth
        nv, mrows = n_vectors, n_rows
        NR = nv * lanes

        def codegen(context, builder, signature, args):
            a_arr, a_off_, a_rs_, a_cs_, mr_, b_arr, b_off_, kc_, c_arr = args
            fty = context.get_value_type(dt)
            vty = ir.VectorType(fty, lanes)
            vptr = vty.as_pointer()
            i64, i32 = ir.IntType(64), ir.IntType(32)
            align = dt.bitwidth // 8
            pa = context.make_array(signature.args[0])(context, builder, a_arr).data
            pb = context.make_array(signature.args[5])(context, builder, b_arr).data
            pc = context.make_array(signature.args[8])(context, builder, c_arr).data
            name = f"llvm.fma.v{lanes}f{dt.bitwidth}"
            fma = builder.module.globals.get(name) or ir.Function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), name=name)
            rows = []
            for r in range(mrows):                              # element offset of each A row
                off = builder.add(a_off_, builder.mul(ir.Constant(i64, r), a_rs_))
                rows.append(builder.select(builder.icmp_signed("<", ir.Constant(i64, r), mr_), off, a_off_))
            zero = ir.Constant(vty, [ir.Constant(fty, 0.0)] * lanes)
            undef = ir.Constant(vty, ir.Undefined)
            splat = ir.Constant(ir.VectorType(i32, lanes), [ir.Constant(i32, 0)] * lanes)
            pre = builder.basic_block
            head = builder.append_basic_block("tile.head")
            body = builder.append_basic_block("tile.body")
            done = builder.append_basic_block("tile.done")
            builder.branch(head)
            builder.position_at_end(head)
            k = builder.phi(i64)
            acc = [[builder.phi(vty) for _ in range(nv)] for _ in range(mrows)]
            k.add_incoming(ir.Constant(i64, 0), pre)
            for row in acc:
                for a in row:
                    a.add_incoming(zero, pre)
            builder.cbranch(builder.icmp_signed("<", k, kc_), body, done)
            builder.position_at_end(body)
            bbase = builder.add(b_off_, builder.mul(k, ir.Constant(i64, NR)))
            bvec = [builder.load(builder.bitcast(builder.gep(pb, [builder.add(bbase, ir.Constant(i64, v * lanes))]),
                                                 vptr), align=align) for v in range(nv)]
            kofs = builder.mul(k, a_cs_)
            new = []
            for r in range(mrows):
                a = builder.load(builder.gep(pa, [builder.add(rows[r], kofs)]))
                av = builder.shuffle_vector(builder.insert_element(undef, a, ir.Constant(i32, 0)), undef, splat)
                new.append([builder.call(fma, [av, bvec[v], acc[r][v]]) for v in range(nv)])
            k.add_incoming(builder.add(k, ir.Constant(i64, 1)), builder.basic_block)
            for r in range(mrows):
                for v in range(nv):
                    acc[r][v].add_incoming(new[r][v], builder.basic_block)
            builder.branch(head)
            builder.position_at_end(done)
            for r in range(mrows):
                for v in range(nv):
                    p = builder.gep(pc, [ir.Constant(i64, r * NR + v * lanes)])
                    builder.store(acc[r][v], builder.bitcast(p, vptr), align=align)
            return context.get_dummy_value()

        return types.none(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct), codegen

    return tile_product


# Full tiles, and 4-row tiles for the last rows of a block (a batch chunk of 10 rows is 6 + 4, not 6 + 6);
# 4, 2 or 1 vectors a row (see pack).
_tile_product_wide = _make_tile_product(_WIDE_VECTORS, TILE_ROWS)
_tile_product_two = _make_tile_product(2, TILE_ROWS)
_tile_product_narrow = _make_tile_product(1, TILE_ROWS)
_tile_product_wide4 = _make_tile_product(_WIDE_VECTORS, 4)
_tile_product_two4 = _make_tile_product(2, 4)
_tile_product_narrow4 = _make_tile_product(1, 4)


def _tile(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct, nr):
    """Python form of the tile intrinsics, any size (runs under NUMBA_DISABLE_JIT=1)."""
    flat = A.reshape(-1)
    for r in range(min(mr, TILE_ROWS)):                     # only the rows the caller keeps
        row = a_off + r * a_rs
        s = np.zeros(nr, dtype=Ct.dtype)
        for k in range(kc):
            s += flat[row + k * a_cs] * Bp[b_off + k * nr: b_off + (k + 1) * nr]
        Ct[r * nr:(r + 1) * nr] = s


def _tile_any(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct, nv, nr):
    """One tile of mr <= TILE_ROWS rows and nv vectors (nr columns): the intrinsic that fits (Python
    form here)."""
    _tile(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct, nr)


@overload(_tile_any)
def _tile_any_jit(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct, nv, nr):
    def impl(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct, nv, nr):
        if nv == _WIDE_VECTORS:
            if mr > 4:
                _tile_product_wide(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
            else:
                _tile_product_wide4(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
        elif nv == 2:
            if mr > 4:
                _tile_product_two(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
            else:
                _tile_product_two4(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
        elif mr > 4:
            _tile_product_narrow(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
        else:
            _tile_product_narrow4(A, a_off, a_rs, a_cs, mr, Bp, b_off, kc, Ct)
    return impl


@njit(error_model="numpy")
def _pack(B, b_rs, b_cs, K, N, nr, Bp):
    """Bp[(p*K + k)*nr + j] = B.flat[k*b_rs + (p*nr + j)*b_cs], zero past column N: panels of nr columns.

    Either b_cs == 1 (B's rows are contiguous: copy runs of nr) or b_rs == 1 (B is the transpose
    of a C-contiguous array: read its rows contiguously, write with stride nr).
    """
    # Unsigned indices: no wrap-around checks, so LLVM vectorises the copies (see _gemm_rows).
    flat = B.reshape(-1)
    n_pan = (N + nr - 1) // nr
    zero = Bp.dtype.type(0.0)
    unr = np.uint64(nr)
    for p in range(n_pan):
        j0 = p * nr
        w = min(nr, N - j0)
        base = np.uint64(p * K * nr)
        if w < nr:
            for k in range(K):
                row = base + np.uint64(k) * unr
                for j in range(w, nr):
                    Bp[row + np.uint64(j)] = zero
        if b_cs == 1:
            for k in range(K):
                dst = base + np.uint64(k) * unr
                src = np.uint64(k * b_rs + j0)
                for j in range(w):
                    u = np.uint64(j)
                    Bp[dst + u] = flat[src + u]
        else:                                   # transposed source: 64 k at a time keep the writes in L1
            for k0 in range(0, K, 64):
                kb = min(64, K - k0)
                for j in range(w):
                    src = np.uint64((j0 + j) * b_cs + k0)
                    dst = base + np.uint64(k0) * unr + np.uint64(j)
                    for k in range(kb):
                        u = np.uint64(k)
                        Bp[dst + u * unr] = flat[src + u]


class Packed(NamedTuple):
    """B (K, N) in panels of nr columns for the tile kernels."""

    data: np.ndarray   # (panels * K * nr,)
    K: int
    N: int
    nr: int


_WORKSPACE = threading.local()


def scratch(name: str, size: int, dtype) -> np.ndarray:
    """A 1-D scratch array of ``size`` elements, kept per thread and name for the next call.

    Packed matrices and d_a never leave a call; reusing their memory spares the page faults of a
    fresh multi-megabyte allocation on every call (about 0.1-0.2 ms per MB on this VM).
    """
    store = _WORKSPACE.__dict__.setdefault("arrays", {})
    key = (name, np.dtype(dtype))
    arr = store.get(key)
    if arr is None or arr.size < size:
        arr = store[key] = np.empty(size, dtype=dtype)
    return arr[:size]


def release_workspace() -> None:
    """Free this thread's scratch arrays (they are rebuilt on the next call)."""
    _WORKSPACE.__dict__.pop("arrays", None)


def pack(B, transpose=False, name=None) -> Packed:
    """Pack the (K, N) matrix B, or B.T when ``transpose`` (B then (N, K)), into tile panels.

    The widest panels (4, 2 or 1 vectors) that are at most a quarter padding; N small gets narrow
    ones. ``name`` puts the result in that scratch array (valid until the next pack with that name).
    """
    B = np.ascontiguousarray(B)
    K, N = (B.shape[1], B.shape[0]) if transpose else B.shape
    nr = tile_cols(B.dtype, wide=False)
    for nv in sorted({_WIDE_VECTORS, 2}, reverse=True):
        cols = tile_cols(B.dtype, vectors=nv)
        if -(-N // cols) * cols <= 1.25 * N:
            nr = cols
            break
    size = -(-N // nr) * K * nr
    Bp = np.empty(size, dtype=B.dtype) if name is None else scratch(name, size, B.dtype)  # (panels*K*nr,)
    rs, cs = (1, K) if transpose else (N, 1)
    _pack(B, rs, cs, K, N, nr, Bp)
    return Packed(Bp, K, N, nr)


@njit(error_model="numpy")
def _gemm_rows(A, a_off, a_rs, a_cs, i0, i1, K, Bp, N, nr, C, accumulate, bias, use_bias):
    """C[i, :N] (+)= (bias +) sum_k A.flat[a_off + i*a_rs + k*a_cs] * B[k, :] for rows i0 <= i < i1.

    Bp holds B packed by :func:`pack` (nr columns a panel); C is 2-D with row i of A giving row i of C.
    """
    # Indices below are unsigned: Numba then emits no wrap-around check for negative values, LLVM sees
    # plain affine addresses and vectorises the copies (a per-row view would cost more than the copy).
    n_pan = (N + nr - 1) // nr
    nv = nr * C.itemsize // _VECTOR_BYTES                                       # vectors per tile row
    Ct = np.empty(TILE_ROWS * nr, dtype=C.dtype)                                # one tile, row-major
    ldc = C.shape[1]
    Cf = C.reshape(C.size)
    if K == 0:
        if not accumulate:
            for i in range(i0, i1):
                for j in range(N):
                    C[i, j] = bias[j] if use_bias else 0.0
        return
    for ib in range(i0, i1, M_BLOCK):
        ie = min(i1, ib + M_BLOCK)
        for p in range(n_pan):
            j0 = p * nr
            w = min(nr, N - j0)
            for k0 in range(0, K, K_BLOCK):
                kc = min(K_BLOCK, K - k0)
                overwrite = k0 == 0 and not accumulate
                for i in range(ib, ie, TILE_ROWS):
                    mr = min(TILE_ROWS, ie - i)
                    _tile_any(A, a_off + i * a_rs + k0 * a_cs, a_rs, a_cs, mr, Bp, (p * K + k0) * nr, kc, Ct,
                              nv, nr)
                    for r in range(mr):
                        c0 = np.uint64((i + r) * ldc + j0)
                        t0 = np.uint64(r * nr)
                        u0 = np.uint64(j0)
                        if overwrite and use_bias:
                            for j in range(w):
                                u = np.uint64(j)
                                Cf[c0 + u] = Ct[t0 + u] + bias[u0 + u]
                        elif overwrite:
                            for j in range(w):
                                u = np.uint64(j)
                                Cf[c0 + u] = Ct[t0 + u]
                        else:
                            for j in range(w):
                                u = np.uint64(j)
                                Cf[c0 + u] += Ct[t0 + u]


@njit(error_model="numpy")
def _runtime_constants(x):
    """(1, True, False) typed int64, bool, bool rather than as literals.

    A kernel that passes the constants 1, True, False to :func:`_gemm_rows` makes Numba compile a
    specialisation for those literal values (0.4 s each on a cold cache); these values are only known
    at run time, so every caller shares the one compiled for :func:`matmul`.
    """
    n = np.int64(x.ndim >= 0)
    return n, n == 1, n == 0


def matmul(A, B: Packed, C, *, transpose_a=False, accumulate=False, bias=None, n_threads=1):
    """C (M, N) (+)= op(A) @ B (+ bias) with B packed by :func:`pack`; rows split over n_threads.

    A is C-contiguous: (M, K), or (K, M) with ``transpose_a`` (read as A.T, no copy).
    """
    M = C.shape[0]
    K, (rs, cs) = (A.shape[0], (1, M)) if transpose_a else (A.shape[1], (A.shape[1], 1))
    if K != B.K or C.shape[1] != B.N:
        raise ValueError(f"matmul: expected op(A) (M, {B.K}) and C (M, {B.N}), got K={K}, C {C.shape}")
    b = np.zeros(0, dtype=C.dtype) if bias is None else bias
    # A hand-off to a worker thread costs tens of microseconds: worth it from a few million
    # multiply-adds on, and each thread gets at least four tiles of rows.
    n = max(1, min(int(n_threads), M // (4 * TILE_ROWS), M * K * B.N // MIN_WORK_PER_THREAD))
    tiles = -(-M // TILE_ROWS)
    bounds = [min(M, tiles * k // n * TILE_ROWS) for k in range(n + 1)]       # whole tiles per thread
    _run_split(_gemm_rows, bounds, (A.reshape(-1), 0, rs, cs),
               (K, B.data, B.N, B.nr, C, accumulate, b, bias is not None))


# ======================================================================== per-chunk kernels
@njit(error_model="numpy")
def _forward_rows(G, RT, RTp, nr, hs, cs, y, mask, b0, b1, keep, use_tiles):
    """Run (F1)-(F4) over all steps for batch rows b0:b1.

    G (T, B, 4H) holds x W^T + b on entry and i, f, z, o on exit (zero at masked steps); RT (H, 4H)
    is R^T (explicit loops), RTp the same packed in panels of nr columns (tiles); hs, cs (T+1, B, H)
    with keep (h, c of every step; slot 0 = initial state) or (2, B, H) without (slots alternate);
    y (T, B, H) output.

    The inner loops run over 1-D row views indexed by the bare loop variable: LLVM then vectorises
    them (indexing G[t, b, k, j] directly measured 10x slower at H = 32: not vectorised), and an
    index like H + j would carry Numba's wrap-around check for negative values, which hides the
    bounds from the vectoriser. For the same reason the row index b is unsigned: with a signed b
    from range(b0, b1) the row loops measured 3x slower.
    """
    T, B = G.shape[0], G.shape[1]
    H = hs.shape[2]
    H2, H3, H4 = 2 * H, 3 * H, 4 * H
    zero = G.dtype.type(0.0)
    no_bias = np.zeros(0, dtype=G.dtype)
    hs_flat = hs.reshape(hs.size)            # 1-D operands: one compiled _gemm_rows serves every call
    one, yes, no = _runtime_constants(G)     # not literals: literal arguments compile _gemm_rows again
    for t in range(T):
        tp = t if keep else t % 2
        tn = t + 1 if keep else (t + 1) % 2
        hp, cp, hn, cn = hs[tp], cs[tp], hs[tn], cs[tn]
        gt = G[t]
        if use_tiles:                                                          # (F1) a += h(t-1) R^T
            _gemm_rows(hs_flat, tp * B * H, H, one, b0, b1, H, RTp, H4, nr, gt, yes, no_bias, no)
        for b in range(np.uint64(b0), np.uint64(b1)):
            a = gt[b]                                                          # (4H,)
            c_old, h_old, c_new, h_new, y_t = cp[b], hp[b], cn[b], hn[b], y[t, b]
            if not mask[t, b]:                                                 # padding: carry the state
                for j in range(H):
                    h_new[j] = h_old[j]
                    c_new[j] = c_old[j]
                    y_t[j] = zero
                for n in range(H4):
                    a[n] = zero
                continue
            if not use_tiles:
                k = 0
                while k + 4 <= H:                                              # (F1) four rows of R^T a pass
                    h0, h1, h2, h3 = h_old[k], h_old[k + 1], h_old[k + 2], h_old[k + 3]
                    r0, r1, r2, r3 = RT[k], RT[k + 1], RT[k + 2], RT[k + 3]
                    for n in range(H4):
                        a[n] += h0 * r0[n] + h1 * r1[n] + h2 * r2[n] + h3 * r3[n]
                    k += 4
                while k < H:
                    h0 = h_old[k]
                    r0 = RT[k]
                    for n in range(H4):
                        a[n] += h0 * r0[n]
                    k += 1
            a_i, a_f, a_z, a_o = a[:H], a[H:H2], a[H2:H3], a[H3:]
            for j in range(H):
                i = sigmoid(a_i[j])                                            # (F2)
                f = sigmoid(a_f[j])                                            # (F2)
                z = tanh(a_z[j])                                               # (F2)
                o = sigmoid(a_o[j])                                            # (F2)
                c = f * c_old[j] + i * z                                       # (F3)
                h = o * tanh(c)                                                # (F4)
                c_new[j] = c
                h_new[j] = h
                y_t[j] = h
                a_i[j] = i
                a_f[j] = f
                a_z[j] = z
                a_o[j] = o


@njit(error_model="numpy")
def _backward_rows(G, R, Rp, nr, cs, dy, mask, b0, b1, truncated, use_tiles, dh, dc, dA, acc):
    """Fill dA (T, B, 4H) with d_a for rows b0:b1, (F4')-(F2'); dh, dc (B, H): final-state errors in,
    initial-state errors out. R (4H, H) for the explicit loops, Rp packed (nr columns a panel) for the
    tiles; acc (B, H) is scratch for the tile product (rows b0:b1 used). Loops as in _forward_rows."""
    T, B = G.shape[0], G.shape[1]
    H = dh.shape[1]
    H2, H3, H4 = 2 * H, 3 * H, 4 * H
    zero = G.dtype.type(0.0)
    one = G.dtype.type(1.0)
    no_bias = np.zeros(0, dtype=G.dtype)
    dA_flat = dA.reshape(dA.size)
    one_i, yes, no = _runtime_constants(G)   # as in _forward_rows
    for t in range(T - 1, -1, -1):
        gt = G[t]
        dat = dA[t]
        for b in range(np.uint64(b0), np.uint64(b1)):
            g = gt[b]
            da = dat[b]
            if not mask[t, b]:                       # state carried unchanged: dh, dc pass through
                for n in range(H4):
                    da[n] = zero
                continue
            g_i, g_f, g_z, g_o = g[:H], g[H:H2], g[H2:H3], g[H3:]
            da_i, da_f, da_z, da_o = da[:H], da[H:H2], da[H2:H3], da[H3:]
            c_new, c_old, dy_t, dh_b, dc_b = cs[t + 1, b], cs[t, b], dy[t, b], dh[b], dc[b]
            for j in range(H):
                i, f, z, o = g_i[j], g_f[j], g_z[j], g_o[j]
                s = tanh(c_new[j])                                             # (F4) recomputed
                d_h = dy_t[j] + dh_b[j]                                        # (F4')
                d_c = dc_b[j] + d_h * o * (one - s * s)                        # (F4')
                da_i[j] = d_c * z * (i * (one - i))                            # (F2') d_a_i
                da_f[j] = d_c * c_old[j] * (f * (one - f))                     # (F2') d_a_f
                da_z[j] = d_c * i * (one - z * z)                              # (F2') d_a_z
                da_o[j] = d_h * s * (o * (one - o))                            # (F2') d_a_o
                dc_b[j] = d_c * f                                              # (F3') to step t-1
            if truncated:
                for j in range(H):
                    dh_b[j] = zero
            elif not use_tiles:                                                # (F4') d_a R, four rows a pass
                for j in range(H):
                    dh_b[j] = zero
                k = 0
                while k + 4 <= H4:
                    a0, a1, a2, a3 = da[k], da[k + 1], da[k + 2], da[k + 3]
                    r0, r1, r2, r3 = R[k], R[k + 1], R[k + 2], R[k + 3]
                    for j in range(H):
                        dh_b[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j]
                    k += 4
        if use_tiles and not truncated:                                        # (F4') d_a R
            _gemm_rows(dA_flat, t * B * H4, H4, one_i, b0, b1, H4, Rp, H, nr, acc, no, no_bias, no)
            for b in range(np.uint64(b0), np.uint64(b1)):
                if mask[t, b]:
                    dh_b, acc_b = dh[b], acc[b]
                    for j in range(H):
                        dh_b[j] = acc_b[j]


# ======================================================================== plan and threads
class Plan(NamedTuple):
    """How a call runs: the per-step product (explicit loops or register tiles) and the batch chunks."""

    use_tiles: bool
    bounds: np.ndarray  # (n_chunks + 1,) int64 row boundaries
    n_threads: int      # threads for the products outside the time loop

    @property
    def n_chunks(self) -> int:
        return len(self.bounds) - 1


# From this hidden size on the per-step product runs on register tiles; below, explicit loops
# (a tile is 64 columns wide, most of it padding when 4H is small).
TILES_MIN_HIDDEN = 16
# A chunk gets at least this many rows: fewer do not pay for the thread hand-off.
MIN_ROWS_PER_CHUNK = 4
STRATEGIES = ("loops", "tiles", "loops-parallel", "tiles-parallel")


def plan(B: int, H: int, strategy: str | None = None, n_threads: int | None = None) -> Plan:
    """Choose loops/tiles by H and the number of batch chunks by B and the threads Numba may use.

    ``strategy`` forces a choice: "loops" or "tiles" (one chunk), "loops-parallel" or
    "tiles-parallel" (one chunk per thread, at least one row each).
    """
    nt = max(1, numba.get_num_threads() if n_threads is None else int(n_threads))
    if strategy is None:
        use_tiles = H >= TILES_MIN_HIDDEN
        n = max(1, min(nt, B // MIN_ROWS_PER_CHUNK))
    elif strategy in STRATEGIES:
        use_tiles = strategy.startswith("tiles")
        n = max(1, min(nt if strategy.endswith("parallel") else 1, B))
    else:
        raise ValueError(f"strategy must be None or one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}")
    bounds = np.array([B * k // n for k in range(n + 1)], dtype=np.int64)
    return Plan(bool(use_tiles), bounds, nt)


@functools.lru_cache(maxsize=None)
def _pool(n_workers: int) -> ThreadPoolExecutor:
    """Worker threads for the pieces beyond the first (the calling thread runs that one)."""
    return ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="lstmkit-fast")


def _run_split(kernel, bounds, args_before, args_after) -> None:
    """kernel(*args_before, lo, hi, *args_after) for each piece [bounds[k], bounds[k+1]).

    Pieces past the first go to worker threads; the kernels release the GIL (nogil), so they run on
    separate cores. Python threads rather than ``parallel=True``: the time loop is inside each call,
    so one hand-off per call is all the parallelism needs, and Numba's parallel compilation would add
    seconds to every cold start.
    """
    n = len(bounds) - 1
    futures = [_pool(n - 1).submit(kernel, *args_before, bounds[k], bounds[k + 1], *args_after)
               for k in range(1, n)]
    kernel(*args_before, bounds[0], bounds[1], *args_after)
    for fut in futures:
        fut.result()


# ======================================================================== the cell interface
def supports(cell) -> bool:
    """True for the standard configuration (torch.nn.LSTM's cell) in float32 or float64."""
    opts = getattr(cell, "options", None)
    try:
        dt = np.dtype(getattr(cell, "dtype", None))
    except TypeError:
        return False
    if opts is None or dt not in SUPPORTED_DTYPES:
        return False
    if not all(bool(opts.get(k, True)) for k in ("forget_gate", "input_gate", "output_gate")):
        return False
    if any(bool(opts.get(k, False)) for k in ("coupled", "peepholes", "full_gate_recurrence")):
        return False
    if lstm_toolbox.active(opts):        # projection, layer norm, dropout: lstm_toolbox computes those
        return False
    want = {"gate_activation": act.LOGISTIC, "cell_input_activation": act.TANH, "cell_output_activation": act.TANH}
    for key, code in want.items():
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


_NO_PACK = {dt: Packed(np.zeros(0, dtype=dt), 0, 0, 1) for dt in SUPPORTED_DTYPES}  # explicit loops: none


def _state_or_zeros(s, B, H, dt):
    return np.zeros((B, H), dtype=dt) if s is None else np.asarray(s, dtype=dt)


def _add_product(target, A, B_packed, n_threads):
    """target (M, N) += A.T @ B for A (K, M): straight into target when it is a C-contiguous array."""
    if target.flags.c_contiguous and target.flags.writeable:
        matmul(A, B_packed, target, transpose_a=True, accumulate=True, n_threads=n_threads)
    else:
        out = np.empty(target.shape, dtype=A.dtype)
        matmul(A, B_packed, out, transpose_a=True, n_threads=n_threads)
        target += out


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
    mask = np.ones((T, B), dtype=np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
    if mask.shape != (T, B):
        raise ValueError(f"lstm_fast.forward: mask expects shape {(T, B)}, got {mask.shape}")
    state0 = (None, None) if state0 is None else state0
    h0 = _state_or_zeros(state0[0], B, H, dt)
    c0 = _state_or_zeros(state0[1], B, H, dt)
    p = plan(B, H, strategy)
    W, R, bias = (np.ascontiguousarray(params[k], dtype=dt) for k in ("W", "R", "b"))

    # (F1) input projection for all steps in one product; only the recurrence runs step by step.
    if need_cache:
        G = np.empty((T, B, 4 * H), dtype=dt)                                   # (T, B, 4H), kept in the cache
    else:
        G = scratch("G", T * B * 4 * H, dt).reshape(T, B, 4 * H)                # inference: not kept
    matmul(x.reshape(T * B, I), pack(W, transpose=True, name="W^T"), G.reshape(T * B, 4 * H), bias=bias,
           n_threads=p.n_threads)
    n_slots = T + 1 if need_cache else 2
    hs = np.empty((n_slots, B, H), dtype=dt)                                    # h(0..T) or 2 slots
    cs = np.empty((n_slots, B, H), dtype=dt)
    hs[0], cs[0] = h0, c0
    y = np.empty((T, B, H), dtype=dt)                                           # (T, B, H)
    if p.use_tiles:
        RT, RTp = np.zeros((0, 0), dtype=dt), pack(R, transpose=True, name="R^T")  # R^T (H, 4H) in panels
    else:
        RT, RTp = np.ascontiguousarray(R.T), _NO_PACK[dt]                        # R^T (H, 4H) for loops
    _run_split(_forward_rows, p.bounds, (G, RT, RTp.data, RTp.nr, hs, cs, y, mask), (need_cache, p.use_tiles))
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
    I = x.shape[2]
    dt = G.dtype
    dy = np.ascontiguousarray(dy, dtype=dt)
    if dy.shape != (T, B, H):
        raise ValueError(f"lstm_fast.backward: dy expects shape {(T, B, H)}, got {dy.shape}")
    dstate = (None, None) if dstate is None else dstate
    dh = np.array(_state_or_zeros(dstate[0], B, H, dt), dtype=dt, copy=True)    # (B, H) in: dhT, out: dh0
    dc = np.array(_state_or_zeros(dstate[1], B, H, dt), dtype=dt, copy=True)    # (B, H)
    dA = scratch("dA", T * B * H4, dt).reshape(T, B, H4)                       # (T, B, 4H) d_a per step
    W, R = (np.ascontiguousarray(params[k], dtype=dt) for k in ("W", "R"))
    Rp = pack(R, name="R") if p.use_tiles and not truncated else _NO_PACK[dt]   # (4H, H) in panels
    acc = np.empty((B, H), dtype=dt)                                            # scratch
    _run_split(_backward_rows, p.bounds, (G, R, Rp.data, Rp.nr, cs, dy, mask),
               (bool(truncated), p.use_tiles, dh, dc, dA, acc))

    # (F1') weight gradients and dx as large products over all steps at once.
    dA2 = dA.reshape(T * B, H4)
    if H < tile_cols(dt):
        # Few hidden units: dR = d_a^T h would run on narrow, padded panels (N = H columns). Turned
        # around, [x h(t-1) 1]^T d_a gives dW^T, dR^T and db in one product on wide panels (N = 4H).
        F = I + H + 1
        xh1 = scratch("xh1", T * B * F, dt).reshape(T * B, F)                   # (T*B, I+H+1)
        xh1[:, :I] = x.reshape(T * B, I)
        xh1[:, I:I + H] = hs[:-1].reshape(T * B, H)
        xh1[:, I + H] = 1.0
        out = scratch("dWRb", F * H4, dt).reshape(F, H4)                         # (I+H+1, 4H)
        matmul(xh1, pack(dA2, name="dA panels"), out, transpose_a=True, n_threads=p.n_threads)
        grads["W"] += out[:I].T                                                 # dW = sum_t d_a^T x
        grads["R"] += out[I:I + H].T                                            # dR = sum_t d_a^T h(t-1)
        grads["b"] += out[I + H]                                                # db = sum_t d_a
    else:
        _add_product(grads["W"], dA2, pack(x.reshape(T * B, I), name="x"), p.n_threads)  # dW += d_a^T x
        _add_product(grads["R"], dA2, pack(hs[:-1].reshape(T * B, H), name="h"), p.n_threads)  # dR += d_a^T h
        grads["b"] += dA2.sum(axis=0)
    dx = np.empty((T, B, I), dtype=dt)                                          # (T, B, I)
    matmul(dA2, pack(W, name="W"), dx.reshape(T * B, I), n_threads=p.n_threads)  # dx = d_a W
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
