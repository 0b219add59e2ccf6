"""Forecasting: windows of a (multivariate) series -> the next ``horizon`` values of the target.

The network reads a window of W steps (all columns, standardised with training statistics) and, at
its last step, outputs H numbers: the target at leads 1..H in standardised units, either as levels
or (``target_mode="delta"``, the default) as changes from the last observed target value. Deltas keep
the network's job the same when the series drifts past the range seen in training (a trend); the
forecast is then y(o) + delta. The loss is 1/2 squared error averaged over samples and leads.
Validation RMSE and MAE are in the data's units, next to the persistence and seasonal-naive
baselines on the very same samples (``lstmkit.data.series``).
"""
from __future__ import annotations

import numpy as np

from ..data import series as S
from ..data.scaling import Scaler
from .common import batches, bptt_epoch, rtrl1997_learner
from .predictors import predict_scaled


class ForecastTask:
    item_unit = "win"

    def __init__(self, values: np.ndarray, cfg, columns: list[str] | None = None, period_hint: int | None = None,
                 period_source: str = "", dates: list[str] | None = None):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] < 1:
            raise ValueError(f"series: expected values of shape (N, F) with the target in column 0, got {values.shape}")
        if not np.isfinite(values).all():
            r, c = (int(v) for v in np.argwhere(~np.isfinite(values))[0])
            raise ValueError(f"series: NaN/Inf gap at row {r}, column {c}; fill or drop it first")
        self.cfg = cfg
        self.values = values
        self.columns = columns or ["y"] + [f"x{j}" for j in range(1, values.shape[1])]
        self.dates = dates
        N, W, H = values.shape[0], cfg.window, cfg.horizon
        self.n_val = max(H, int(round(cfg.val_fraction * N)))
        self.split = S.split_origins(N, W, H, self.n_val)
        self.scaler = Scaler.fit(values[: self.split.n_train], names=[f"column {c!r}" for c in self.columns])
        self.z = self.scaler.transform(values).astype(cfg.dtype)        # (N, F) standardised inputs
        self.y = values[:, 0]                                           # target in data units
        if cfg.season is not None:
            self.period, self.period_source = cfg.season, "given (--season)"
        elif period_hint is not None:
            self.period, self.period_source = period_hint, period_source
        else:
            self.period = S.detect_period(self.y[: self.split.n_train])
            self.period_source = ("autocorrelation of the differenced training target" if self.period > 1
                                  else "no clear seasonality found (seasonal naive = persistence)")
        self.items_per_epoch = len(self.split.train)
        self._learner = None

    # ---------------------------------------------------------------- targets in model units
    def _targets(self, origins: np.ndarray) -> np.ndarray:
        zt = self.z[:, 0].astype(np.float64)
        t = S.future(zt, origins, self.cfg.horizon)
        if self.cfg.target_mode == "delta":
            t = t - zt[origins][:, None]
        return t

    def _batch(self, origins: np.ndarray):
        W, H = self.cfg.window, self.cfg.horizon
        x = S.windows(self.z, origins, W)                               # (W, b, F)
        tgt = np.zeros((W, len(origins), H), dtype=self.z.dtype)         # target only at the last step
        tgt[-1] = self._targets(origins)
        mask = np.zeros((W, len(origins)), dtype=bool)
        mask[-1] = True
        return x, tgt, mask

    # ---------------------------------------------------------------- training
    def train_epoch(self, net, guard, rng, bar) -> dict:
        total, n = 0.0, 0
        if self.cfg.algorithm == "rtrl1997":
            if self._learner is None:
                self._learner = rtrl1997_learner(net, self.cfg)
            for k, i in enumerate(batches(len(self.split.train), 1, rng)):
                guard.ctx.batch = k + 1
                x, tgt, mask = self._batch(self.split.train[i])
                res = self._learner.train_sequence(x[:, 0], tgt[:, 0], mask[:, 0])
                value = res.loss / self.cfg.horizon
                guard.check_loss(value)
                total, n = total + value, n + 1
                bar.update(1)
            return {"train_loss": total / max(n, 1)}
        def make_batch(windows):                 # windows are whole, so no lengths
            x, tgt, mask = self._batch(windows)
            return x, None, tgt, mask

        return bptt_epoch(net, guard, rng, bar, np.asarray(self.split.train), self.cfg.batch_size, make_batch,
                          "half_sse")

    # ---------------------------------------------------------------- prediction
    def predict_scaled(self, net, origins: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """(n, H) standardised target levels forecast from these origins (of ``z``, default the task's)."""
        return predict_scaled(net, self.z if z is None else z, origins, self.cfg.window, self.cfg.horizon,
                              self.cfg.target_mode)

    def to_units(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.scaler.scale[0] + self.scaler.mean[0]

    def predict(self, net, origins: np.ndarray) -> np.ndarray:
        return self.to_units(self.predict_scaled(net, origins))

    def evaluate(self, net) -> dict:
        o = self.split.val
        pred_s = self.predict_scaled(net, o)
        truth_s = S.future(self.z[:, 0].astype(np.float64), o, self.cfg.horizon)
        e = S.errors(self.to_units(pred_s), S.future(self.y, o, self.cfg.horizon))
        return {"val_loss": float(0.5 * np.mean((pred_s - truth_s) ** 2)), "val_rmse": e["rmse"], "val_mae": e["mae"]}

    # ---------------------------------------------------------------- reports
    def baselines(self) -> dict:
        o, H = self.split.val, self.cfg.horizon
        truth = S.future(self.y, o, H)
        out = {"persistence": S.errors(S.persistence(self.y, o, H), truth)}
        sn = S.seasonal_naive(self.y, o, H, self.period)
        out["seasonal_naive"] = ({**S.errors(sn, truth), "period": self.period, "period_source": self.period_source}
                                 if sn is not None else
                                 {"rmse": None, "mae": None, "period": self.period,
                                  "period_source": self.period_source, "note": "not enough history for one season"})
        return out

    def epoch_line(self, r: dict, epochs: int) -> str:
        return (f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.5f}  val loss {r['val_loss']:.5f}  "
                f"val RMSE {r['val_rmse']:.5g}  MAE {r['val_mae']:.5g}  ({r['seconds']:.1f} s)")

    def data_state(self) -> dict:
        return {"kind": "forecast", "columns": self.columns, "scaler": self.scaler.to_dict(),
                "window": self.cfg.window, "horizon": self.cfg.horizon, "target_mode": self.cfg.target_mode,
                "rows": int(self.values.shape[0]), "train_rows": int(self.split.n_train),
                "val_rows": int(self.n_val), "train_samples": int(len(self.split.train)),
                "val_samples": int(len(self.split.val)), "seasonal_period": int(self.period),
                "seasonal_period_source": self.period_source,
                "first_date": self.dates[0] if self.dates else None,
                "last_date": self.dates[-1] if self.dates else None}

    def summary(self, net, fit) -> dict:
        o, H = self.split.val, self.cfg.horizon
        pred = self.predict(net, o)
        truth = S.future(self.y, o, H)
        lead = np.sqrt(np.mean((pred - truth) ** 2, axis=0))
        val = {**S.errors(pred, truth), "rmse_by_lead": [float(v) for v in lead], "loss": fit.state.best_loss,
               "samples": int(len(o))}
        return {"validation": val, "baselines": self.baselines()}

    def report_lines(self, summary: dict) -> list[str]:
        v, b = summary["validation"], summary["baselines"]
        sn = b["seasonal_naive"]
        rows = [("LSTM", v["rmse"], v["mae"]), ("persistence", b["persistence"]["rmse"], b["persistence"]["mae"]),
                (f"seasonal naive (m={sn['period']})", sn["rmse"], sn["mae"])]
        out = [f"validation ({v['samples']} windows, horizon {self.cfg.horizon}, target {self.columns[0]!r}):",
               f"  {'':<26}{'RMSE':>12}{'MAE':>12}"]
        for name, r, m in rows:
            out.append(f"  {name:<26}{_num(r):>12}{_num(m):>12}")
        out.append(f"  seasonal period: {sn['period']} ({sn['period_source']})")
        return out


def _num(v) -> str:
    return "n/a" if v is None else f"{v:.5g}"
