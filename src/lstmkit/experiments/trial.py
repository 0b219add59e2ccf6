"""One trial of one table row: fresh weights, training until the stopping rule or the budget, the final test.

``run_trial(exp, k, base_seed)`` is a pure function of its arguments: every random number comes from
``trial_seed(base_seed, exp.id, k)`` (NumPy ``SeedSequence``), split into independent streams for the
initial weights, the training data, the tests the stopping rule asks for, and the final test. So a trial
gives the same numbers in any process, in any order, on any number of workers.

Training, per method:

``lstm1997``  the paper's online rule (``lstmkit.learn.rtrl1997``), one sequence at a time, weights changed
              after every target step (``Experiment.update``); one-hot inputs are passed as indices.
              Rows with ``Net.grow`` (2a, 2b) start with the output units alone and add the memory cell and
              its input gate when the training error stops decreasing (``rtrl1997.Plateau``, defaults).
``rtrl``      full RTRL (``lstmkit.learn.rtrl``), online; ``bptt``: full BPTT, one SGD step per sequence;
``elman``     one-step-truncated gradient (``lstmkit.learn.elman``).
``modern``    minibatches, full BPTT, Adam (clipped at norm 1), the same data stream and stopping rule.
``guess``     random weight guessing (``lstmkit.learn.guess``) until a fixed training set is solved.

Exactness of the stopping point: sequences are drawn and trained in chunks of ``CHUNK``; their errors are
judged with the task's own criteria after the chunk, and fed to the stopping rule in order. When the rule
fires (or the net grows) inside a chunk, the weights of the chunk's start are restored and the chunk is
retrained up to that sequence, which reproduces the same weights bit for bit; so the reported count and the
tested network are exactly those of the sequence at which the rule held.

Where the time goes: ``record["time_s"]`` splits the trial's wall time into ``data`` (drawing training
sequences), ``train`` (the learner, retraining after a rewind included), ``criteria`` (the task's per-sequence
criteria and the stopping rule), ``checks`` (drawing and running the tests the rule asks for), ``final_test``
and ``other`` (set-up, copies, bookkeeping). Like ``wall_s`` it varies from run to run and is the only other
such field; ``benchmarks/bench_trial_time.py`` tables it per row.
"""
from __future__ import annotations

import time
import zlib
from contextlib import contextmanager

import numpy as np

from ..network import Readout
from ..tasks import Batch
from ..tasks.base import last_step_mask, step_mask
from .configs import Experiment
from .stopping import CONTINUE, STOP, TEST

CHUNK = 100            # training sequences drawn and judged at a time; divides every test interval
TEST_PIECE = 500       # test sequences drawn and evaluated at a time (bounds memory: 2b's inputs are dense)
SPARSE_PIECE = 100     # the same for index-only inputs (evaluated one sequence at a time)
FIXED_PIECE = 64       # Exp 1's fixed test sets are evaluated in pieces of this many strings
SPARSE_INPUTS = 64     # 2c test batches with more input units than this are drawn without dense inputs
CURVE_POINTS = 400     # learning curves are thinned to at most this many points
GROW_CAP = 1           # sequential construction adds at most this many blocks (2a/2b: one cell)


# ------------------------------------------------------------------------------------------- time
class _Clock:
    """Seconds per part of a trial (``record["time_s"]``); ``with clock("train"): ...`` adds to a part."""

    PARTS = ("data", "train", "criteria", "checks", "final_test")

    def __init__(self):
        self.t0 = time.perf_counter()
        self.s = dict.fromkeys(self.PARTS, 0.0)

    @contextmanager
    def __call__(self, part: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.s[part] += time.perf_counter() - t

    def record(self) -> dict[str, float]:
        total = time.perf_counter() - self.t0
        return {**{k: round(v, 4) for k, v in self.s.items()}, "other": round(total - sum(self.s.values()), 4)}


# ------------------------------------------------------------------------------------------- seeds
def trial_seed(base_seed: int, exp_id: str, k: int) -> int:
    """The 63-bit seed of trial k of row ``exp_id``; everything random in the trial derives from it."""
    ss = np.random.SeedSequence([int(base_seed), zlib.crc32(exp_id.encode()), int(k)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _split_rng(base_seed: int, k: int) -> np.random.Generator:
    """Exp 1's training/test split of trial k: 10 initialisations share a split (the paper's 3 x 10)."""
    return np.random.default_rng(np.random.SeedSequence([int(base_seed), zlib.crc32(b"reber-split"), k // 10]))


# ------------------------------------------------------------------------------------------- data
def _sample_long_lag_c(task, rng: np.random.Generator, n: int) -> Batch:
    """Task 2c without its dense one-hot inputs: the same draws as ``LongLagC.sample`` (a test holds them
    equal), with ``x`` of width 0 and the inputs as indices in ``meta["symbols"]``. At p = 1000 the dense
    inputs are 8 MB per sequence, which costs far more than training on it."""
    p, q = task.p, task.q
    E, B, X = p, p + 1, p + 2
    label = rng.integers(2, size=n)
    k = rng.geometric(1.0 - task.continue_prob, size=n) - 1
    lengths = (q + k + 3).astype(np.int64)
    T_max = int(lengths.max())
    cols = np.arange(n)
    symbols = rng.integers(p, size=(T_max, n))
    symbols[0] = B
    symbols[1] = X + label
    symbols[lengths - 1, cols] = E
    symbols[~step_mask(lengths, T_max)] = -1
    y = np.zeros((T_max, n, 2))
    y[lengths - 1, cols, label] = 1.0
    return Batch(x=np.zeros((T_max, n, 0)), y=y, target_mask=last_step_mask(lengths, T_max), lengths=lengths,
                 meta={"label": label, "k": k, "symbols": symbols, "sequence_length": lengths + 1})


class _Data:
    """The row's data: the training stream (t1/t2/t3), the stopping rule's tests and the final test."""

    def __init__(self, exp: Experiment, task, base_seed: int, k: int, rngs, dense: bool):
        self.exp, self.task = exp, task
        self.train_rng, self.check_rng, self.test_rng = rngs
        # 2c under the paper's rule: the rtrl1997 kernel trains on the symbols' indices, so training
        # batches never need dense one-hot inputs (at p = 50, q = 1000 a chunk of them is 47 MB and cost
        # more than the training). Test batches are index-only only where dense ones would be large
        # (p > 60); below that they run as one batched forward.
        self.sparse_train = task.name == "long_lag_c" and not dense
        self.sparse = self.sparse_train and task.input_size > SPARSE_INPUTS
        self.split = None
        if task.name == "embedded_reber":   # t1: a fixed training set of 256 strings and 256 test strings
            self.split = task.make_split(_split_rng(base_seed, k))
            # in pieces: the rule needs all 512 right, so a test stops at the first piece with a wrong string
            # (most tests of a trial fail; a whole 512 cost twice the training of the 100 sequences before it)
            self._fixed_check = [_trim(_subset(b, np.arange(i, min(i + FIXED_PIECE, b.n))))
                                 for b in (self.split.train_batch(), self.split.test_batch())
                                 for i in range(0, b.n, FIXED_PIECE)]

    def sample(self, rng, n) -> Batch:
        return _sample_long_lag_c(self.task, rng, n) if self.sparse else self.task.sample(rng, n)

    def train(self, n: int) -> Batch:
        if self.split is not None:
            return self.split.sample_train(self.train_rng, n)
        if self.sparse_train:
            return _sample_long_lag_c(self.task, self.train_rng, n)
        return self.sample(self.train_rng, n)

    def _pieces(self, rng, n):
        if self.task.name == "long_lag_a":
            # Only two sequences exist; they are the whole test set (10,000 random draws would contain both).
            b = self.task.sample(rng, 64)
            while len(set(b.meta["label"].tolist())) < 2:
                b = self.task.sample(rng, 64)
            first = [int(np.argmax(b.meta["label"] == c)) for c in (0, 1)]
            yield Batch(x=b.x[:, first], y=b.y[:, first], target_mask=b.target_mask[:, first],
                        lengths=b.lengths[first], meta={"label": b.meta["label"][first],
                                                        "symbols": b.meta["symbols"][:, first]})
            return
        piece = SPARSE_PIECE if self.sparse else TEST_PIECE
        while n > 0:
            m = min(n, piece)
            yield self.sample(rng, m)
            n -= m

    def check(self):
        """Batches of the stopping rule's test."""
        if self.split is not None:
            return iter(self._fixed_check)
        return self._pieces(self.check_rng, self.exp.stop.test_size)

    def final(self):
        """Batches of the final test."""
        if self.split is not None:
            return iter([self.split.test_batch()])
        return self._pieces(self.test_rng, self.exp.test_size)


def _trim(batch: Batch) -> Batch:
    """The batch cut to its longest sequence (arrays (T_max, N, ...) lose the padding steps past it)."""
    T, T0 = int(batch.lengths.max()), batch.x.shape[0]
    cut = lambda v: v[:T] if isinstance(v, np.ndarray) and v.ndim >= 2 and v.shape[0] == T0 else v
    return Batch(x=batch.x[:T], y=batch.y[:T], target_mask=batch.target_mask[:T], lengths=batch.lengths,
                 meta={k: cut(v) for k, v in batch.meta.items()})


def _subset(batch: Batch, idx: np.ndarray) -> Batch:
    """The sequences ``idx`` of a batch (meta arrays indexed by sequence: (N,) or (T, N, ...))."""
    N = batch.n
    meta = {}
    for key, v in batch.meta.items():
        if isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] == N:
            meta[key] = v[idx]
        elif isinstance(v, np.ndarray) and v.ndim >= 2 and v.shape[1] == N:
            meta[key] = v[:, idx]
        elif isinstance(v, list) and len(v) == N:
            meta[key] = [v[i] for i in idx]
        else:
            meta[key] = v
    return Batch(x=batch.x[:, idx], y=batch.y[:, idx], target_mask=batch.target_mask[:, idx],
                 lengths=batch.lengths[idx], meta=meta)


# ------------------------------------------------------------------------------------------- learners
class _Online:
    """One online learner behind one interface: train one sequence; outputs of frozen weights on a batch."""

    def __init__(self, exp: Experiment, model):
        self.exp = exp
        self.learner = None
        self.set_model(model)

    def set_model(self, model) -> None:
        exp = self.exp
        self.model = model
        if exp.method == "lstm1997":
            from ..learn.rtrl1997 import RTRL1997

            self.learner = RTRL1997(model, lr=exp.lr, update=exp.update)
        elif exp.method == "rtrl":
            from ..learn.rtrl import RTRL

            self.learner = RTRL(model, lr=exp.lr, update=exp.update)

    def train(self, x, y, tm, idx):
        m = self.exp.method
        if m == "lstm1997":
            return self.learner.train_sequence(None if idx is not None else x, y, tm, input_indices=idx)
        if m == "rtrl":
            return self.learner.train_sequence(x, y, tm)
        if m == "bptt":
            from ..learn.algorithms import bptt_train_sequence

            return bptt_train_sequence(self.model, x, y, tm, lr=self.exp.lr)
        from ..learn import elman

        return elman.train_sequence(self.model, x, y, tm, lr=self.exp.lr, update=self.exp.update)

    def outputs(self, task, batch: Batch) -> np.ndarray:
        """(T_max, N, K) outputs of the current weights, at least at the steps the success criterion reads."""
        return _outputs(self.model, task, batch, self.learner if self.exp.method == "lstm1997" else None)


def _outputs(model, task, batch: Batch, learner=None) -> np.ndarray:
    """Outputs of frozen weights: one batched forward, or for index-only inputs (``x`` of width 0) one
    sequence at a time through the rtrl1997 learner's kernel."""
    if isinstance(model, Readout):        # 2a/2b before sequential construction added the cell: per step
        out = model.forward(batch.x.astype(model.dtype, copy=False))
        return np.asarray(out, dtype=np.float64) * batch.step_mask[:, :, None]
    if learner is None or batch.x.shape[2] > 0:
        out, _ = model.forward(batch.x.astype(model.dtype, copy=False), lengths=batch.lengths)
        return np.asarray(out, dtype=np.float64)
    mask = task.success_mask(batch)
    K = batch.y.shape[2]
    out = np.zeros(batch.y.shape)
    sym = batch.meta.get("symbols")
    for i in range(batch.n):
        L = int(batch.lengths[i])
        tm = np.ascontiguousarray(mask[:L, i])
        y0 = np.zeros((L, K))
        if sym is not None:
            res = learner.evaluate(None, y0, tm, input_indices=np.ascontiguousarray(sym[:L, i]))
        else:
            res = learner.evaluate(np.ascontiguousarray(batch.x[:L, i]), y0, tm)
        out[np.nonzero(tm)[0], i] = res.outputs
    return out


def _score(task, batches, outputs_of, early_exit: bool = False) -> tuple[int, int, float, float]:
    """(wrong, size, mean task.error, mean squared error at the success steps) over the batches.

    ``early_exit``: stop at the first batch with a wrong sequence (a test that needs all correct has failed).
    """
    wrong = size = 0
    err_sum = sq_sum = 0.0
    for b in batches:
        out = outputs_of(b)
        ok, err = task.criteria(b, out)
        wrong += int(np.count_nonzero(~ok))
        size += b.n
        err_sum += float(err.sum())
        sq_sum += float(task.squared_error(b, np.where(task.success_mask(b)[:, :, None], out, b.y)).sum())
        if early_exit and wrong:
            break
    return wrong, size, err_sum / max(size, 1), sq_sum / max(size, 1)


# ------------------------------------------------------------------------------------------- curve
class _Curve:
    """Learning curve: (sequences, mean training error, fraction correct) per chunk, thinned by halving."""

    def __init__(self):
        self.points: list[list[float]] = []
        self.step = 1
        self.count = 0

    def add(self, n: int, errors: np.ndarray, correct: np.ndarray) -> None:
        if errors.size == 0:
            return
        self.count += 1
        if self.count % self.step:
            return
        self.points.append([int(n), float(np.mean(errors)), float(np.mean(correct))])
        if len(self.points) >= CURVE_POINTS:
            self.points = self.points[1::2]
            self.step *= 2


# ------------------------------------------------------------------------------------------- training loops
def _train_online(exp, task, model, data: _Data, monitor, curve: _Curve, init_rng, details: dict, clock=None):
    """Online training until the rule stops it or the budget is spent; returns (learner, solved, sequences)."""
    clock = clock or _Clock()
    from ..learn.rtrl1997 import Plateau, add_block

    lrn = _Online(exp, model)
    plateau = Plateau(*exp.net.grow_plateau) if exp.net.grow else None
    blocks = 0
    n = 0
    one_hot_idx = exp.method == "lstm1997"
    while n < exp.max_sequences:
        C = min(CHUNK, exp.max_sequences - n)
        with clock("data"):
            b = data.train(CHUNK)        # always a whole chunk, so the data never depend on the budget
        L_ = b.lengths
        X = np.ascontiguousarray(b.x.transpose(1, 0, 2))
        Y = np.ascontiguousarray(b.y.transpose(1, 0, 2))
        TM = np.ascontiguousarray(b.target_mask.T)
        S = np.ascontiguousarray(b.meta["symbols"].T) if one_hot_idx and "symbols" in b.meta else None
        out = np.zeros(b.y.shape)
        losses = np.zeros(C)

        def train(i):
            L = int(L_[i])
            res = lrn.train(X[i, :L], Y[i, :L], TM[i, :L], None if S is None else S[i, :L])
            out[np.nonzero(TM[i, :L])[0], i] = res.outputs
            losses[i] = res.loss

        start = 0
        while start < C:
            snap = lrn.model.flat.copy()
            with clock("train"):
                for i in range(start, C):
                    train(i)
            if not np.all(np.isfinite(losses[start:C])):
                details["diverged_at"] = n + start + int(np.argmin(np.isfinite(losses[start:C]))) + 1
                return lrn, False, n + C
            with clock("criteria"):
                correct, error = task.criteria(b, out)
                event, grow, at = CONTINUE, False, C - 1
                for i in range(start, C):
                    event = monitor.observe(n + i + 1, float(error[i]), bool(correct[i]))
                    grow = plateau is not None and blocks < GROW_CAP and plateau.update(float(losses[i]))
                    if event != CONTINUE or grow:
                        at = i
                        break
            if at < C - 1:                     # the weights at sequence `at`: back to the start, retrain
                lrn.model.flat[...] = snap
                with clock("train"):
                    for i in range(start, at + 1):
                        train(i)
            curve.add(n + at + 1, error[start:at + 1], correct[start:at + 1])
            if event == STOP:
                return lrn, True, n + at + 1
            if event == TEST:
                with clock("checks"):
                    wrong, size, mean_err, _ = _score(task, data.check(), lambda bb: lrn.outputs(task, bb),
                                                      early_exit=exp.stop.early_exit)
                if monitor.judge(n + at + 1, wrong, size, mean_err):
                    return lrn, True, n + at + 1
            if grow:
                blocks += 1
                lrn.set_model(add_block(lrn.model, init_rng, cell_options=exp.net.grow_options()))
                details.setdefault("grown_at", []).append(n + at + 1)
            start = at + 1
        n += C
    return lrn, False, n


def _train_modern(exp, task, net, data: _Data, monitor, curve: _Curve, details: dict, clock=None):
    """Minibatch full BPTT with Adam; the rule sees every sequence's error before the minibatch's step."""
    clock = clock or _Clock()
    from ..learn.bptt import loss_and_gradient
    from ..learn.optim import Adam

    opt = Adam(lr=exp.lr, clip_norm=1.0)
    n = 0
    while n < exp.max_sequences:
        B = exp.batch_size               # the last minibatch may pass the budget by up to B - 1 sequences
        with clock("data"):
            b = data.train(B)
        with clock("train"):
            value, out, _ = loss_and_gradient(net, b.x.astype(net.dtype, copy=False), b.y, loss="half_sse",
                                              lengths=b.lengths, target_mask=b.target_mask, reduction="mean")
        if not np.isfinite(value):
            details["diverged_at"] = n + 1
            return False, n + B
        out = np.asarray(out, dtype=np.float64)
        with clock("criteria"):
            correct, error = task.criteria(b, out)
            test_now, stop_at = False, None
            for i in range(B):
                event = monitor.observe(n + i + 1, float(error[i]), bool(correct[i]))
                if event == STOP:
                    stop_at = i
                    break
                test_now |= event == TEST
        if stop_at is not None:
            curve.add(n + stop_at + 1, error[:stop_at + 1], correct[:stop_at + 1])
            return True, n + stop_at + 1
        with clock("train"):
            opt.step(net.flat, net.grad_flat)
        n += B
        curve.add(n, error, correct)
        if test_now:
            with clock("checks"):
                wrong, size, mean_err, _ = _score(task, data.check(), lambda bb: _outputs(net, task, bb),
                                                  early_exit=exp.stop.early_exit)
            if monitor.judge(n, wrong, size, mean_err):
                return True, n
    return False, n


def _guess(exp, task, net, data: _Data, init_rng):
    """Random weight guessing until the fixed training set is solved; returns (solved, guesses, test)."""
    from ..learn.guess import guess

    if task.name == "parity":          # the companion paper's balanced training and test sets
        train, test = task.make_split(data.train_rng, n_train=exp.stop.test_size, n_test=exp.test_size)
        final = [test]
    else:
        train = task.sample(data.train_rng, exp.stop.test_size)
        final = data.final()

    # Most guesses fail on the first sequences: test on 1, then 8, then all, stopping at the first failure.
    stages = [_subset(train, np.arange(m)) for m in (1, 8) if m < train.n] + [train]

    def success(model) -> bool:
        return all(bool(task.correct(b, _outputs(model, task, b)).all()) for b in stages)

    res = guess(net, success, init_rng, w=exp.net.init_range, max_trials=exp.max_sequences)
    return res.solved, res.trials, final


# ------------------------------------------------------------------------------------------- one trial
def _start(exp: Experiment, k: int, base_seed: int):
    """Trial k's seed, task, data streams and initialisation stream."""
    seed = trial_seed(base_seed, exp.id, k)
    init_ss, train_ss, check_ss, test_ss = np.random.SeedSequence(seed).spawn(4)
    rngs = tuple(np.random.default_rng(s) for s in (train_ss, check_ss, test_ss))
    task = exp.make_task()
    return seed, task, _Data(exp, task, base_seed, k, rngs, dense=exp.method != "lstm1997"), \
        np.random.default_rng(init_ss)


def trial_start(exp: Experiment, k: int, base_seed: int = 0):
    """What trial k of row ``exp`` starts from, as ``run_trial`` draws it: ``(model, train)``.

    ``model`` is the initial network; ``train(n)`` returns the next n training sequences (a ``Batch``; for
    2c at p > 60 the inputs are indices in ``meta["symbols"]``, see ``_sample_long_lag_c``). For rows
    trained online (lstm1997, rtrl, bptt, elman) without sequential construction (all but 2a and 2b),
    training them in order, drawn in chunks of ``CHUNK`` as the trial draws them, with the row's learner
    replays the trial's training exactly: for looking inside a trial (examples/cell_states.py).
    """
    _, task, data, init_rng = _start(exp, k, base_seed)
    return exp.net.build(task.input_size, task.output_size, init_rng), data.train


def run_trial(exp: Experiment, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
    """Trial ``k`` of row ``exp``; returns the JSON-able record (plus ``"model"`` with ``keep_model``)."""
    import numba
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    clock = _Clock()
    seed, task, data, init_rng = _start(exp, k, base_seed)
    details: dict = {}
    curve = _Curve()
    # One core per trial (trials run side by side): BLAS, and the threads lstmkit's fast kernels would
    # start (lstm_fast asks numba.get_num_threads(); two trials' spinning hand-offs on 2 cores cost 10x).
    numba_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            record = _trial_body(exp, k, seed, task, data, init_rng, details, curve, keep_model, clock)
    finally:
        numba.set_num_threads(numba_threads)
    record["wall_s"] = round(time.perf_counter() - t0, 3)
    record["time_s"] = clock.record()
    return record


def _trial_body(exp, k, seed, task, data, init_rng, details, curve, keep_model, clock) -> dict:
    """Build, train and test; the record without its wall time."""
    model = exp.net.build(task.input_size, task.output_size, init_rng)
    final = None
    if exp.method == "guess":
        with clock("train"):             # guessing: drawing weights and trying them is the method
            solved, sequences, final = _guess(exp, task, model, data, init_rng)
        outputs_of = lambda bb: _outputs(model, task, bb)
    elif exp.method == "modern":
        monitor = exp.stop.monitor()
        solved, sequences = _train_modern(exp, task, model, data, monitor, curve, details, clock)
        details.update(monitor.details())
        outputs_of = lambda bb: _outputs(model, task, bb)
    else:
        monitor = exp.stop.monitor()
        lrn, solved, sequences = _train_online(exp, task, model, data, monitor, curve, init_rng, details, clock)
        details.update(monitor.details())
        model = lrn.model
        outputs_of = lambda bb: lrn.outputs(task, bb)
    with clock("final_test"):
        wrong, size, mean_err, mse = _score(task, final if final is not None else data.final(), outputs_of)
    details["test_mse"] = mse
    details["stopped_by"] = "rule" if solved else "budget"
    record = {"id": exp.id, "trial": int(k), "seed": seed, "solved": bool(solved), "sequences": int(sequences),
              "test_wrong": int(wrong), "test_size": int(size), "test_error": float(mean_err),
              "wall_s": 0.0, "details": details, "curve": curve.points}
    if keep_model:
        record["model"] = model
    return record


__all__ = ["CHUNK", "run_trial", "trial_seed", "trial_start"]
