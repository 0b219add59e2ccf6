"""Greff et al. (2017), "LSTM: A Search Space Odyssey": vanilla LSTM and its eight variants on real music.

The paper trains vanilla LSTM (forget gate, peepholes, tanh in and out, full-gradient BPTT) and eight
variants, each with one change (NIG NFG NOG NIAF NOAF NP CIFG FGR: ``cells/lstm.py`` has the equations),
on TIMIT, IAM Online and JSB Chorales, with a random search of 200 trials per variant and data set, and
compares the variants with vanilla by Welch's t-test and the hyperparameters by fANOVA. This study runs the
same protocol on the two music sets that ship with music21 (offline):

* ``jsb``: Bach chorales as JSB-style piano rolls at quarter-note steps (``data/chorales.py``): 88
  independent sigmoid outputs, frame NLL = sum over keys of the Bernoulli NLL, mean over frames (JSB's);
* ``folk``: German children's songs (Essen) at eighth-note steps (``data/folk.py``): one voice, so a
  softmax over 89 classes (88 keys or rest), frame NLL = the categorical NLL, mean over frames.

One row per (variant, data set); a trial is one random-search sample, drawn from ``row.seed(k, base_seed)``::

    blocks   H  = round(exp U[log 20, log 200])           log-uniform                                (G1)
    lr       a  = exp U[log 1e-6, log 1e-2]               log-uniform                                (G2)
    momentum mu = 1 - exp U[log 0.01, log 1]              1 - log-uniform                            (G3)
    noise    s  = U[0, 1]                                 s.d. of Gaussian noise on the inputs       (G4)

Network: one hidden layer of H blocks of the variant, a linear readout whose outputs are the logits of the
frame model, the next frame predicted from the frames before it (``pianoroll.next_frame_pairs``: every
frame, the first from a frame of zeros). Training: full BPTT, SGD with Nesterov momentum (``Momentum(a, mu,
nesterov=True)``), one update per ``batch`` sequences on the gradient of their *summed* NLL (``batch=1`` is
the paper's per-sequence update), training sequences in a fresh order each epoch, fresh input noise each
time a sequence is seen. Early stopping: the validation frame NLL after every epoch (and before the first);
training ends after ``patience`` epochs without a new best or at ``max_epochs``; the test NLL is that of the
weights of the best validation epoch. A trial *diverges* when a loss or a weight stops being finite or the
validation NLL exceeds ``diverge_nll``; it is then not "solved" and not in the NLL statistics (it is
counted in the table).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .configs import Quick
from .study import Study, StudyRow, register

VARIANTS = ("vanilla", "NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR")


# ------------------------------------------------------------------------------------------- data sets
@dataclass(frozen=True)
class MusicTask:
    """A music set and its frame model: where the rolls come from, which output layer and loss."""

    name: str
    title: str
    module: str                       # lstmkit.data.<module>.load(seed, limit, cache) -> pianoroll.Split
    categorical: bool                 # True: softmax over 88 keys + rest; False: 88 independent sigmoids
    loss: str                         # lstmkit.losses name, on logits

    @property
    def features(self) -> int:
        return 89 if self.categorical else 88

    def split(self, limit: int | None = None):
        return _split(self.module, limit)


TASKS: dict[str, MusicTask] = {
    "jsb": MusicTask("jsb", "Bach chorales (JSB-style, music21 corpus)", "chorales", False, "sigmoid_nll"),
    "folk": MusicTask("folk", "Essen children's songs (music21 corpus)", "folk", True, "softmax_nll"),
}


@functools.lru_cache(maxsize=8)
def _split(module: str, limit: int | None):
    import importlib

    return importlib.import_module(f"lstmkit.data.{module}").load(limit=limit)


@functools.lru_cache(maxsize=8)
def _arrays(task: str, limit: int | None):
    """Per split: (x (T, B, F), y (T, B, F), lengths (B,)) padded, and the list of per-piece (x, y)."""
    from ..data.pianoroll import next_frame_pairs

    t = TASKS[task]
    split = t.split(limit)
    out = {}
    for part in ("train", "valid", "test"):
        xs, ys = next_frame_pairs(split.part(part), categorical=t.categorical)
        out[part] = (xs, ys)
    return out


EVAL_CHUNK = 16           # pieces per forward when scoring valid/test, sorted by length (little padding)


def eval_chunks(xs, ys, dtype) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The pieces sorted by length, padded in chunks of ``EVAL_CHUNK``: NLL sums need no order."""
    order = np.argsort([len(x) for x in xs], kind="stable")
    return [pad([xs[i] for i in order[s:s + EVAL_CHUNK]], [ys[i] for i in order[s:s + EVAL_CHUNK]], dtype)
            for s in range(0, len(order), EVAL_CHUNK)]


def pad(xs, ys, dtype):
    """Time-major padded (x, y, lengths) of a list of (T_b, F) arrays."""
    lengths = np.array([len(x) for x in xs], dtype=np.int64)
    T, B, F = int(lengths.max()), len(xs), xs[0].shape[1]
    x = np.zeros((T, B, F), dtype=dtype)
    y = np.zeros((T, B, F), dtype=dtype)
    for b, (xb, yb) in enumerate(zip(xs, ys)):
        x[: len(xb), b] = xb
        y[: len(yb), b] = yb
    return x, y, lengths


# ------------------------------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class Space:
    """The random search's ranges (Greff et al. 2017, Sec. IV-B), (G1)-(G4)."""

    blocks: tuple[int, int] = (20, 200)              # log-uniform
    lr: tuple[float, float] = (1e-6, 1e-2)           # log-uniform
    one_minus_momentum: tuple[float, float] = (0.01, 1.0)   # log-uniform; momentum = 1 - this
    noise: tuple[float, float] = (0.0, 1.0)          # uniform

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        lo, hi = self.blocks
        blocks = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))          # (G1)
        lr = math.exp(rng.uniform(math.log(self.lr[0]), math.log(self.lr[1])))            # (G2)
        omm = math.exp(rng.uniform(math.log(self.one_minus_momentum[0]),
                                   math.log(self.one_minus_momentum[1])))
        noise = float(rng.uniform(*self.noise))                                            # (G4)
        return {"blocks": blocks, "lr": lr, "momentum": 1.0 - omm, "noise": noise}        # (G3)


# ------------------------------------------------------------------------------------------- what the paper reports
@dataclass(frozen=True)
class GreffPaper:
    """What Greff et al. (2017) report for the row's variant on JSB, and published JSB figures to set beside."""

    source: str = "Greff et al. 2017, Fig. 3 and Sec. V-A (JSB Chorales)"
    finding: str = ""                                 # the paper's verdict on this variant, in words
    published: tuple[tuple[str, float, str], ...] = ()   # (model, test frame NLL, where it is from)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "finding": self.finding,
                "published": [{"model": m, "test_nll": v, "from": w} for m, v, w in self.published]}


# The JSB test frame NLLs others report (their split is Boulanger-Lewandowski's 229/76/77; ours differs).
# Chung et al. (2014), Table 2, as quoted by the README of github.com/2j2h5/lstm-gru (the paper itself was
# not in the searched corpus). Boulanger-Lewandowski et al. (2012) and Greff et al. (2017) give figures too,
# which we could not check here: not listed.
PUBLISHED_JSB = (
    ("tanh RNN (Chung et al. 2014)", 9.19, "Chung et al. 2014 Table 2, via 2j2h5/lstm-gru README"),
    ("LSTM (Chung et al. 2014)", 8.67, "Chung et al. 2014 Table 2, via 2j2h5/lstm-gru README"),
    ("GRU (Chung et al. 2014)", 8.54, "Chung et al. 2014 Table 2, via 2j2h5/lstm-gru README"),
)

FINDINGS = {
    "vanilla": "the reference: no variant improves on it significantly",
    "NIG": "hurts on TIMIT and IAM Online, not significantly on JSB",
    "NFG": "significantly worse on every data set (the forget gate is critical)",
    "NOG": "hurts on TIMIT and IAM Online, not significantly on JSB",
    "NIAF": "hurts on TIMIT and IAM Online, not significantly on JSB",
    "NOAF": "significantly worse on every data set (the output activation is critical)",
    "NP": "no significant difference (a valid simplification)",
    "CIFG": "no significant difference (a valid simplification)",
    "FGR": "no improvement; its JSB outcome is UNCONFIRMED here",
}


# ------------------------------------------------------------------------------------------- the row
@dataclass(frozen=True)
class GreffRow(StudyRow):
    """One (variant, data set): a trial is one random-search sample trained to early stopping."""

    id: str                                   # "greff-jsb-NIG"
    experiment: str                           # "greff"
    method: str                               # the variant: "vanilla", "NIG", ...
    setting: str
    variant: str
    task: str                                 # key of TASKS
    trials: int = 20                          # ours (the paper: 200 per variant and data set)
    quick: Quick = Quick(include=True, trials=1, max_sequences=2)   # max_sequences = epoch cap
    quick_pieces: int = 12                    # --quick: at most this many pieces per split
    paper: GreffPaper = GreffPaper()
    notes: str = ""
    space: Space = Space()
    max_epochs: int = 8                       # epoch cap: median trial 3.2 s here, so 20 x 18 trials fit ~25 min
    patience: int = 2                         # epochs without a new best validation NLL before stopping
    batch: int = 1                            # sequences per update; 1 = the paper's per-sequence update
    limit: int | None = None                  # pieces per split (None: all)
    diverge_nll: float = 100.0                # a validation frame NLL above this is divergence
    dtype: str = "float32"

    record_fields = (("valid_nll", (int, float)), ("test_nll", (int, float)), ("diverged", (bool,)),
                     ("hyper", (dict,)), ("epochs", (int,)))
    volatile = ("trials", "paper", "quick", "notes", "setting", "quick_pieces")

    def effective(self, quick: bool):
        """``--quick``: at most ``quick.max_sequences`` epochs on ``quick_pieces`` pieces per split."""
        if not quick:
            return self
        return dataclasses.replace(self, max_epochs=min(self.max_epochs, self.quick.max_sequences),
                                   limit=self.quick_pieces if self.limit is None else min(self.limit,
                                                                                          self.quick_pieces))

    # -------------------------------------------------------------------- one trial
    def build(self, hyper: dict, rng: np.random.Generator):
        from ..network import LSTM, Network, Readout

        F = TASKS[self.task].features
        rnn = LSTM(F, hyper["blocks"], cell="lstm", variant=self.variant, dtype=self.dtype, seed=rng)
        return Network(rnn, Readout(hyper["blocks"], F, "identity", dtype=self.dtype, seed=rng))

    def run_trial(self, k: int, base_seed: int = 0, keep_model: bool = False) -> dict:
        """Trial k: draw (G1)-(G4), train to early stopping, score the best weights on the test set."""
        import numba
        from threadpoolctl import threadpool_limits

        # One core per trial, as trial.py: two BLAS threads on the per-step (1, H) x (H, 4H) products
        # spin more than they compute (measured here: 1 thread ran an epoch 2-3x faster).
        numba_threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            with threadpool_limits(1):
                return self._trial(k, base_seed, keep_model)
        finally:
            numba.set_num_threads(numba_threads)

    def _trial(self, k: int, base_seed: int, keep_model: bool) -> dict:
        from .. import losses
        from ..learn.optim import Momentum

        t0 = time.perf_counter()
        seed = self.seed(k, base_seed)
        hyper_rng, init_rng, order_rng, noise_rng = (np.random.default_rng(s)
                                                     for s in np.random.SeedSequence(seed).spawn(4))
        hyper = self.space.draw(hyper_rng)
        data = _arrays(self.task, self.limit)
        dt = np.dtype(self.dtype)
        loss_fn = losses.get_loss(TASKS[self.task].loss)
        net = self.build(hyper, init_rng)
        opt = Momentum(hyper["lr"], hyper["momentum"], nesterov=True)
        xs, ys = data["train"]
        valid = eval_chunks(*data["valid"], dt)
        test = eval_chunks(*data["test"], dt)

        def nll(chunks) -> float:                      # frame NLL: summed over keys, mean over frames
            total, n = 0.0, 0
            for x, y, lengths in chunks:
                out, _ = net.forward(x, lengths=lengths)
                mask = np.arange(len(x))[:, None] < lengths[None, :]
                total += loss_fn(out, y, mask)[0]
                n += int(lengths.sum())
            return total / n

        best_valid = nll(valid)
        best_w, best_epoch = net.flat.copy(), 0
        curve = [round(best_valid, 5)]
        train_curve: list[float] = []
        diverged, epochs, since = False, 0, 0
        frames = sum(len(x) for x in xs)
        if not math.isfinite(best_valid):
            diverged = True
        while not diverged and epochs < self.max_epochs and since < self.patience:
            total = 0.0
            order = order_rng.permutation(len(xs))
            for start in range(0, len(order), self.batch):
                idx = order[start:start + self.batch]
                x, y, lengths = pad([xs[i] for i in idx], [ys[i] for i in idx], dt)
                if hyper["noise"] > 0:                 # (G4): fresh noise each time a sequence is seen
                    x = x + (hyper["noise"] * noise_rng.standard_normal(x.shape)).astype(dt)
                out, _ = net.forward(x, lengths=lengths)
                mask = np.arange(len(x))[:, None] < lengths[None, :]
                loss, dout = loss_fn(out, y, mask)
                net.backward(dout.astype(dt, copy=False))
                opt.step(net.flat, net.grad_flat)
                total += loss
                if not math.isfinite(loss):
                    diverged = True
                    break
            epochs += 1
            if diverged or not np.all(np.isfinite(net.flat)):
                diverged = True
                break
            v = nll(valid)
            train_curve.append(round(total / frames, 5))
            curve.append(round(v, 5) if math.isfinite(v) else None)
            if not math.isfinite(v) or v > self.diverge_nll:
                diverged = True
                break
            if v < best_valid:
                best_valid, best_w, best_epoch, since = v, net.flat.copy(), epochs, 0
            else:
                since += 1
        net.flat[...] = best_w
        test_nll = nll(test)
        rec = {
            "seed": seed, "solved": not diverged, "sequences": epochs, "wall_s": round(time.perf_counter() - t0, 3),
            "valid_nll": float(best_valid), "test_nll": float(test_nll), "diverged": diverged,
            "hyper": hyper, "epochs": epochs,
            "details": {"best_epoch": best_epoch, "valid_curve": curve, "train_curve": train_curve,
                        "weights": int(net.num_weights), "train_frames": int(frames),
                        "stopped": "diverged" if diverged else ("patience" if since >= self.patience
                                                                else "epoch cap")},
        }
        if keep_model:
            rec["model"] = net
        return rec


# ------------------------------------------------------------------------------------------- the rows
ROWS: tuple[GreffRow, ...] = tuple(
    GreffRow(id=f"greff-{task}-{v}", experiment="greff", method=v, setting=f"{v} on {TASKS[task].title}",
             variant=v, task=task,
             paper=GreffPaper(finding=FINDINGS[v], published=PUBLISHED_JSB if task == "jsb" else ()),
             notes="random search as the paper, (G1)-(G4); our own budget: see the module docstring")
    for task in TASKS for v in VARIANTS)


# ------------------------------------------------------------------------------------------- statistics
def welch(a, b) -> dict[str, float]:
    """Welch's t-test of a against b (scipy.stats.ttest_ind, equal_var=False): t, p, mean(a) - mean(b)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return {"t": float("nan"), "p": float("nan"), "diff": float("nan")}
    r = stats.ttest_ind(a, b, equal_var=False)
    return {"t": float(r.statistic), "p": float(r.pvalue), "diff": float(a.mean() - b.mean())}


def summarize(row: GreffRow, trials: list[dict]) -> dict:
    ok = [t for t in trials if t["solved"]]
    nll = np.array([t["test_nll"] for t in ok], dtype=float)
    walls = np.array([t["wall_s"] for t in trials], dtype=float)
    return {
        "trials": len(trials), "solved": len(ok), "diverged": sum(1 for t in trials if t["diverged"]),
        "best": float(nll.min()) if len(nll) else None,
        "median": float(np.median(nll)) if len(nll) else None,
        "mean": float(nll.mean()) if len(nll) else None,
        "sd": float(nll.std(ddof=1)) if len(nll) > 1 else None,
        "test_nlls": [float(v) for v in nll],
        "valid_nlls": [float(t["valid_nll"]) for t in ok],
        "best_hyper": ok[int(np.argmin(nll))]["hyper"] if len(nll) else None,
        "median_epochs": float(np.median([t["epochs"] for t in trials])) if trials else None,
        "median_wall_s": float(np.median(walls)) if len(walls) else None,
        "total_wall_s": float(walls.sum()),
    }


def _fmt(v, nd=3):
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{nd}f}"


def _p(p):
    if p is None or not math.isfinite(p):
        return "–"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def top(summary: dict, frac: float = 0.25) -> list[float]:
    """Test NLLs of the best ``frac`` of a row's finished trials, ranked by validation NLL (at least one)."""
    pairs = sorted(zip(summary.get("valid_nlls", []), summary["test_nlls"]))
    return [t for _, t in pairs[:max(1, math.ceil(frac * len(pairs)))]] if pairs else []


def table(entries: list[dict]) -> str:
    """Per data set: each variant's best / median / mean test NLL and Welch's t-test against vanilla, over
    every finished trial and over the best quarter by validation NLL (the paper's Fig. 3 shows both kinds)."""
    by_task: dict[str, list[dict]] = {}
    for e in entries:
        task = e["id"].split("-")[1]
        by_task.setdefault(task, []).append(e)
    lines = []
    for task, es in by_task.items():
        van = next((e for e in es if e["method"] == "vanilla"), None)
        base = van["summary"]["test_nlls"] if van else []
        base_top = top(van["summary"]) if van else []
        lines += [f"**{TASKS[task].title}** — test frame NLL (nats per frame; lower is better)", "",
                  "| variant | trials | finished | diverged | best | median | mean ± sd | mean − vanilla | "
                  "Welch t | p | best-¼ mean | best-¼ p | median epochs | median wall s | paper (JSB) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for e in es:
            s = e["summary"]
            w = welch(s["test_nlls"], base) if e["method"] != "vanilla" else None
            q = top(s)
            wq = welch(q, base_top) if e["method"] != "vanilla" else None
            ms = f"{_fmt(s['mean'])} ± {_fmt(s['sd'])}" if s["mean"] is not None else "–"
            lines.append(
                f"| {e['method']} | {s['trials']} | {s['solved']} | {s['diverged']} | {_fmt(s['best'])} | "
                f"{_fmt(s['median'])} | {ms} | {_fmt(w['diff']) if w else '–'} | {_fmt(w['t'], 2) if w else '–'} | "
                f"{_p(w['p']) if w else '–'} | {_fmt(float(np.mean(q))) if q else '–'} | {_p(wq['p']) if wq else '–'} | "
                f"{_fmt(s['median_epochs'], 0)} | {_fmt(s['median_wall_s'], 1)} | "
                f"{e['paper'].get('finding', '') if task == 'jsb' else ''} |")
        pub = (van or es[0])["paper"].get("published", [])
        if pub:
            lines += ["", "Published JSB Chorales test NLLs (Boulanger-Lewandowski's 229/76/77 split and pieces; "
                          "ours differ, so these are a guide, not a target): "
                      + "; ".join(f"{p['model']} {p['test_nll']:.2f}" for p in pub) + "."]
        shares = importance([t for e in es for t in e["trials"]])
        if shares:      # pooled over the set's variants, as the paper's fANOVA (needs >= 8 finished trials)
            lines += ["", "Hyperparameter importance (share of the test NLL's variance over the search box explained "
                          "by each main effect, all variants' finished trials pooled; `greff2017.importance`): "
                      + ", ".join(f"{k} {v:.2f}" for k, v in shares.items()) + "."]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- importance
HYPER_AXES = (("lr", "log10 learning rate", True), ("blocks", "log10 blocks", True),
              ("momentum", "log10 (1 - momentum)", True), ("noise", "input noise s.d.", False))


def _features(hyper: dict) -> list[float]:
    return [math.log10(hyper["lr"]), math.log10(hyper["blocks"]), math.log10(max(1e-12, 1.0 - hyper["momentum"])),
            hyper["noise"]]


def importance(records: list[dict], space: Space = Space(), seed: int = 0, grid: int = 24,
               samples: int = 400) -> dict[str, float]:
    """Fraction of the variance of test NLL that each hyperparameter explains alone (a functional ANOVA).

    fANOVA (Hutter et al. 2014, the paper's method) decomposes a random forest's prediction f over the
    hyperparameter space into main effects and interactions. No fANOVA library is installed here, so this
    does the same decomposition numerically on a scikit-learn ``RandomForestRegressor``'s mean prediction:
    with u uniform on the (transformed) search box, the main effect of hyperparameter j is
    f_j(v) = E[f(u) | u_j = v], estimated on ``grid`` values of v with ``samples`` Monte-Carlo points for
    the others, and its share is Var_v f_j(v) / Var_u f(u). What the main effects leave is "interactions".
    """
    from sklearn.ensemble import RandomForestRegressor

    ok = [r for r in records if r["solved"]]
    if len(ok) < 8:
        return {}
    X = np.array([_features(r["hyper"]) for r in ok])
    y = np.array([r["test_nll"] for r in ok])
    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=seed).fit(X, y)
    lo = np.array([math.log10(space.lr[0]), math.log10(space.blocks[0]), math.log10(space.one_minus_momentum[0]),
                   space.noise[0]])
    hi = np.array([math.log10(space.lr[1]), math.log10(space.blocks[1]), math.log10(space.one_minus_momentum[1]),
                   space.noise[1]])
    rng = np.random.default_rng(seed)
    U = lo + (hi - lo) * rng.random((samples, 4))
    total = float(np.var(forest.predict(U)))
    out = {}
    for j, (name, _, _) in enumerate(HYPER_AXES):
        means = []
        for v in np.linspace(lo[j], hi[j], grid):
            V = U.copy()
            V[:, j] = v
            means.append(forest.predict(V).mean())
        out[name] = float(np.var(means) / total) if total > 0 else 0.0
    out["interactions"] = max(0.0, 1.0 - sum(out.values()))
    return out


# ------------------------------------------------------------------------------------------- figures
def plots(out: Path, rows, results: dict[str, list[dict]]) -> list[Path]:
    """Per data set: box plots of test NLL per variant, learning rate vs NLL, hyperparameter importance."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    out = Path(out) / "plots"
    paths = []
    for task in TASKS:
        trows = [r for r in rows if r.task == task and results.get(r.id)]
        if not trows:
            continue
        # box plots: every finished trial, and the best quarter by validation NLL (as the paper's Fig. 3
        # shows all trials and the best ones)
        fig, axes = plt.subplots(1, 2, figsize=(14, 4.2))
        for ax, frac in zip(axes, (1.0, 0.25)):
            data = []
            for r in trows:
                ok = sorted((t for t in results[r.id] if t["solved"]), key=lambda t: t["valid_nll"])
                data.append([t["test_nll"] for t in ok[:max(1, math.ceil(frac * len(ok)))]] if ok else [])
            ax.boxplot([d if d else [np.nan] for d in data], showfliers=True)
            ax.set_xticks(range(1, len(trows) + 1), [f"{r.variant}\n({len(d)})" for r, d in zip(trows, data)])
            ax.set_ylabel("test frame NLL (nats)")
            ax.set_title("all finished trials" if frac == 1.0 else "best 25 % by validation NLL")
        fig.suptitle(f"Greff et al. 2017 variants — {TASKS[task].title} (trials in brackets)")
        p = out / f"greff-{task}-box.png"
        save_png(fig, p)
        plt.close(fig)
        paths.append(p)
        # learning rate vs NLL
        fig, ax = plt.subplots(figsize=(7, 4.5))
        cmap = plt.get_cmap("tab10")
        for i, r in enumerate(trows):
            recs = [t for t in results[r.id] if t["solved"]]
            ax.scatter([t["hyper"]["lr"] for t in recs], [t["test_nll"] for t in recs], s=14, color=cmap(i % 10),
                       label=r.variant, alpha=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("test frame NLL (nats)")
        ax.set_title(f"learning rate vs test NLL — {TASKS[task].title}")
        ax.legend(fontsize=7, ncol=3)
        p = out / f"greff-{task}-lr.png"
        save_png(fig, p)
        plt.close(fig)
        paths.append(p)
        # importance over all variants of the data set pooled
        imp = importance([t for r in trows for t in results[r.id]])
        if imp:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            names = list(imp)
            ax.bar(names, [imp[n] for n in names], color="tab:blue")
            ax.set_ylabel("share of variance of test NLL")
            ax.set_title(f"hyperparameter importance (RF functional ANOVA) — {task}")
            p = out / f"greff-{task}-importance.png"
            save_png(fig, p)
            plt.close(fig)
            paths.append(p)
    return paths


STUDY = register(Study(name="greff", title="Greff et al. (2017): LSTM variants, random search on real music",
                       rows=ROWS, summarize=summarize, table=table, plots=plots,
                       reference="Greff, Srivastava, Koutník, Steunebrink & Schmidhuber (2017), LSTM: A Search "
                                 "Space Odyssey, IEEE TNNLS 28(10):2222-2232"))

__all__ = ["ROWS", "STUDY", "TASKS", "VARIANTS", "GreffPaper", "GreffRow", "MusicTask", "Space", "importance",
           "plots", "summarize", "table", "welch"]
