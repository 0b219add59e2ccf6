"""Predictions of a trained run on new data, in the data's own units (``lstmkit predict``, ``from_run``).

A run directory holds everything a prediction needs: the network (``model/``), the resolved config
(columns, window, ...) and the data state (scaler, vocabulary, classes). A predictor joins them; it
never reads the training data, so a run can be copied to another machine and used there.

``PREDICTORS[task].from_run(run)`` builds one; each has ``read(path)`` (the task's file format, checked
like the training data) and the task's answers:

  forecast  ``forecast(values)`` (H,): the next H target values after the series, y(N-1+h) for h = 1..H;
            ``backtest(values)``: the forecast from every origin o = W-1 .. N-1-H beside the actual
            y(o+1..o+H) and the persistence forecast y(o) on the same origins.
  classify  ``proba(xs)`` (n, K): class probabilities at each sequence's last step (a logistic readout
            trained by the paper's rule is normalised to sum to 1); ``labels(xs)``: the most probable.
  text      ``next_proba(text)`` (V,): p(next character | text), the text read with the state carried;
            ``bits_per_char(text)``: mean -log2 p(c_t | c_<t) over the text's characters after the first.
  seq2seq   ``decode(sources, beam=...)``: hypotheses (symbols, score, attention) (``training.seq2seq``).
"""
from __future__ import annotations

import numpy as np

from ..data import series as S
from ..data.scaling import Scaler
from .common import last_step_outputs
from .seq2seq import Seq2SeqPredictor


class ForecastPredictor:
    def __init__(self, net, scaler: Scaler, columns: list[str], window: int, horizon: int, target_mode: str,
                 date: str | None = None):
        self.net, self.scaler, self.columns = net, scaler, columns
        self.window, self.horizon, self.target_mode, self.date = window, horizon, target_mode, date

    @classmethod
    def from_run(cls, run) -> "ForecastPredictor":
        state, cfg = run.data_state(), run.config()
        return cls(run.model(), Scaler.from_dict(state["scaler"]), state["columns"], state["window"],
                   state["horizon"], state["target_mode"], cfg.get("date"))

    def read(self, path, what: str = "--input") -> S.Series:
        """The series of ``path`` with the training columns (target first), in date order."""
        s = S.load_series(path, self.columns[0], self.columns[1:], self.date, what=what)
        if s.values.shape[0] < self.window:
            raise ValueError(f"{what}: {path} has {s.values.shape[0]} rows; the model reads windows of "
                             f"{self.window}, so give at least {self.window} rows of history")
        return s

    def scaled(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(n, H) forecasts from ``origins`` of ``values`` (N, F), standardised target levels."""
        z = self.scaler.transform(values).astype(self.net.dtype)               # (N, F) model units
        return predict_scaled(self.net, z, origins, self.window, self.horizon, self.target_mode)

    def to_units(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.scaler.scale[0] + self.scaler.mean[0]              # z -> y = z s + m

    def forecast(self, values: np.ndarray) -> np.ndarray:
        """(H,) the next H values of the target after the last row of ``values``."""
        return self.to_units(self.scaled(values, np.array([values.shape[0] - 1])))[0]

    def backtest(self, values: np.ndarray) -> dict:
        """Every origin with H actual values after it: origins (n,), forecast, actual, persistence (n, H)."""
        W, H, N = self.window, self.horizon, values.shape[0]
        origins = np.arange(W - 1, N - H)
        if origins.size == 0:
            raise ValueError(f"--input: a backtest needs window + horizon = {W + H} rows (one forecast with its "
                             f"{H} actual values), got {N}")
        y = values[:, 0]
        return {"origins": origins, "forecast": self.to_units(self.scaled(values, origins)),
                "actual": S.future(y, origins, H), "persistence": S.persistence(y, origins, H)}


def predict_scaled(net, z: np.ndarray, origins: np.ndarray, window: int, horizon: int, target_mode: str,
                   chunk: int = 1024) -> np.ndarray:
    """(n, H) standardised target levels: the network reads z[o-W+1 .. o] for each origin o.

    ``target_mode="delta"``: the network's output is the change from z(o), so the level is z(o) + out.
    """
    out = []
    for start in range(0, len(origins), chunk):
        o = origins[start : start + chunk]
        y, _ = net.forward(S.windows(z, o, window))                            # (W, b, H); read at the last step
        p = y[-1].astype(np.float64)
        if target_mode == "delta":
            p = p + z[o, 0].astype(np.float64)[:, None]
        out.append(p)
    return np.concatenate(out) if out else np.zeros((0, horizon))


class ClassifyPredictor:
    def __init__(self, net, scaler: Scaler, classes: list[str], features: list[str], cfg: dict | None = None):
        self.net, self.scaler, self.classes, self.features = net, scaler, classes, features
        self.cfg = cfg or {}

    @classmethod
    def from_run(cls, run) -> "ClassifyPredictor":
        state = run.data_state()
        return cls(run.model(), Scaler.from_dict(state["scaler"]), state["classes"], state["features"], run.config())

    def read(self, path, what: str = "--input"):
        """The sequences of ``path`` (.npz or long CSV); labels, when the file has them, are kept for scoring."""
        from pathlib import Path

        from ..data.sequences import load_sequences

        c = self.cfg
        # the training run's choice of CSV columns (None: all but id, time and label); .npz holds only x
        csv_features = c.get("features") if Path(path).suffix.lower() != ".npz" else None
        seqs = load_sequences(path, None, c.get("id_col", "id"), c.get("time_col", "time"),
                              c.get("label_col", "label"), csv_features, need_label=False, what=what)
        F = seqs.x[0].shape[1]
        if F != len(self.features):
            raise ValueError(f"{what}: sequences in {path} have {F} features; the model was trained on "
                             f"{len(self.features)} ({', '.join(self.features)})")
        return seqs

    def proba(self, xs: list[np.ndarray]) -> np.ndarray:
        """(n, K) class probabilities at each sequence's last step."""
        z = [self.scaler.transform(x).astype(self.net.dtype) for x in xs]
        out = last_step_outputs(self.net, z, self.net.dtype)
        return out / out.sum(axis=1, keepdims=True)                            # softmax: a no-op; logistic: p_k / sum

    def labels(self, xs: list[np.ndarray]) -> list[str]:
        return [self.classes[k] for k in self.proba(xs).argmax(axis=1)]


class TextPredictor:
    def __init__(self, net, vocab: list[str]):
        self.net, self.vocab = net, vocab

    @classmethod
    def from_run(cls, run) -> "TextPredictor":
        return cls(run.model(), run.data_state()["vocab"])

    def read(self, path, what: str = "--input") -> str:
        from ..data.table import read_text

        text = read_text(path, what)
        if not text:
            raise ValueError(f"{what}: {path} is empty; give the text the model should continue")
        return text

    def _outputs(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """ids (T,) and the softmax outputs (T, V): row t is p(c_{t+1} | c_0..c_t)."""
        from ..data.text import encode, one_hot

        ids = encode(text, self.vocab, "--input")
        V, rows, state = len(self.vocab), [], None
        for start in range(0, ids.size, 4096):                                  # state carried across chunks
            x = one_hot(ids[start : start + 4096, None], V, self.net.dtype)     # (t, 1, V)
            out, state = self.net.forward(x, state)
            rows.append(out[:, 0].astype(np.float64))
        return ids, np.concatenate(rows)

    def next_proba(self, text: str) -> np.ndarray:
        return self._outputs(text)[1][-1]

    def bits_per_char(self, text: str) -> float | None:
        ids, p = self._outputs(text)
        if ids.size < 2:
            return None
        return float(-np.mean(np.log2(np.maximum(p[np.arange(ids.size - 1), ids[1:]], 1e-300))))


PREDICTORS = {"forecast": ForecastPredictor, "classify": ClassifyPredictor, "text": TextPredictor,
              "seq2seq": Seq2SeqPredictor}


def from_run(run):
    """The predictor of a run's task (``run`` a run directory or a ``lstmkit.runs.Run``)."""
    from ..runs import Run

    if not isinstance(run, Run):
        run = Run.open(run, "from_run")
    return PREDICTORS[run.task].from_run(run)
