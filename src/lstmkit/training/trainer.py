"""The epoch loop shared by every task, the CLI and the estimators.

Per epoch: the task trains on its training part (shuffled with the run's generator), then evaluates
on its validation part; the loop records the metrics, keeps the best weights (lowest validation
loss), stops early after ``patience`` epochs without improvement, and writes a checkpoint. At the end
the best weights are put back into the network.

Numerical health: every weight step goes through :class:`GuardedStep`, which refuses a gradient
that is not finite or whose norm (before clipping) exceeds ``grad_norm_limit``, before the optimiser
can touch the weights; a non-finite loss or weight stops the run too. The error names the epoch
and batch, says that the last good checkpoint was kept, and what to change. No NaN weight is ever
written: checkpoints and the final model are written only after the checks.

Determinism: the state between epochs is (weights, best weights, optimiser state, generator state,
counters). Tasks draw every random number of an epoch from the generator they are handed, and
evaluation draws none, so an epoch is a function of that state, and a resumed run equals the
uninterrupted one bit for bit.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np


class Diverged(FloatingPointError):
    """Training produced a non-finite loss/weight or an exploding gradient (the CLI prints one line)."""


@dataclass
class StepContext:
    epoch: int = 0                 # 1-based, for messages
    batch: int = 0
    max_norm: float = 0.0


class GuardedStep:
    """``step(net)``: check net.grad_flat, then let the optimiser update net.flat."""

    def __init__(self, optimizer, limit: float):
        self.optimizer, self.limit = optimizer, float(limit)
        self.ctx = StepContext()

    def check_loss(self, value: float) -> None:
        if not np.isfinite(value):
            raise Diverged(f"the loss became {value} at epoch {self.ctx.epoch}, batch {self.ctx.batch}")

    def step(self, net) -> float:
        g = net.grad_flat
        norm = float(np.sqrt(np.dot(g.astype(np.float64), g.astype(np.float64))))
        if not np.isfinite(norm):
            raise Diverged(f"the gradient became non-finite at epoch {self.ctx.epoch}, batch {self.ctx.batch}")
        if norm > self.limit:
            raise Diverged(f"the gradient exploded at epoch {self.ctx.epoch}, batch {self.ctx.batch} "
                           f"(norm {norm:.3g} > --grad-norm-limit {self.limit:.3g})")
        self.optimizer.step(net.flat, g)
        self.ctx.max_norm = max(self.ctx.max_norm, norm)
        return norm


@dataclass
class LoopState:
    epoch: int = 0                         # finished epochs
    best_loss: float = float("inf")
    best_epoch: int = 0
    bad_epochs: int = 0
    done: bool = False
    stop_reason: str = ""
    seconds: float = 0.0
    history: list = field(default_factory=list)


@dataclass
class FitResult:
    state: LoopState
    net: object


def _opt_state_split(sd: dict) -> tuple[dict, dict]:
    arrays, scalars = {}, {}
    for k, v in sd.items():
        if isinstance(v, np.ndarray):
            arrays[f"opt.{k}"] = v
        else:
            scalars[k] = v
    return arrays, scalars


def _opt_state_join(arrays: dict, scalars: dict) -> dict:
    sd = dict(scalars)
    for k, v in arrays.items():
        if k.startswith("opt."):
            sd[k[4:]] = v
    return sd


def _restore(arrays: dict, meta: dict, net, best: np.ndarray, optimizer, rng, cfg, where) -> LoopState:
    """Put a checkpoint's state into the net, optimiser and generator, after checking every field.

    The checksum proves the file is what lstmkit wrote, not that what it holds makes sense (a file
    edited and re-hashed, or written by a different version): each field is checked for its type and
    range, and a bad one is named.
    """
    def bad(what: str) -> ValueError:
        return ValueError(f"--resume: the checkpoint in {where} is damaged: {what}; start a new run")

    if set(meta) != {"rng", "optimizer", "loop"}:
        raise bad(f"its metadata has fields {sorted(meta)}, expected loop, optimizer and rng")
    for name in ("weights", "best_weights"):
        a = arrays.get(name)
        if a is None or a.shape != net.flat.shape or a.dtype != net.flat.dtype or not np.isfinite(a).all():
            raise bad(f"{name!r} must be {net.flat.size} finite {net.flat.dtype} weights, the configured network's")
    extra = sorted(set(arrays) - {"weights", "best_weights"} - {k for k in arrays if k.startswith("opt.")})
    if extra:
        raise bad(f"unexpected arrays {extra}")
    loop = meta["loop"]
    names = {f.name for f in dataclasses.fields(LoopState)}
    if not isinstance(loop, dict) or set(loop) != names:
        raise bad(f"the loop state must have the fields {sorted(names)}")

    def count(key: str, top: int) -> int:
        v = loop[key]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= top:
            raise bad(f"loop.{key} = {v!r}; expected an integer in 0..{top}")
        return v

    epoch = count("epoch", cfg.epochs)
    count("best_epoch", epoch)
    count("bad_epochs", epoch)
    if not isinstance(loop["done"], bool) or not isinstance(loop["stop_reason"], str):
        raise bad("loop.done must be true/false and loop.stop_reason a string")
    for key in ("best_loss", "seconds"):
        v = loop[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or (key == "seconds" and not
                                                                                 0 <= v < float("inf")):
            raise bad(f"loop.{key} = {v!r}; expected a number")
    hist = loop["history"]
    if (not isinstance(hist, list) or len(hist) != epoch
            or any(not isinstance(r, dict) or r.get("epoch") != i + 1 for i, r in enumerate(hist))):
        raise bad(f"the metrics history must hold one record per finished epoch (1..{epoch})")
    if (optimizer is None) != (meta["optimizer"] == {} and not any(k.startswith("opt.") for k in arrays)):
        raise bad("its optimiser state does not belong to the configured algorithm")
    net.flat[...] = arrays["weights"]
    best[...] = arrays["best_weights"]
    try:
        if optimizer is not None:
            state = _opt_state_join(arrays, meta["optimizer"])
            want = optimizer.state_dict()
            if set(state) != set(want) or any(isinstance(state[k], np.ndarray) and state[k].shape != net.flat.shape
                                               for k in state):
                raise ValueError
            steps = state.get("steps")
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
                raise ValueError
            optimizer.load_state_dict(state)
        rng.bit_generator.state = meta["rng"]
    except (ValueError, TypeError, KeyError):
        raise bad("its optimiser or random-generator state does not fit this run") from None
    return LoopState(**loop)


def fit(task, net, optimizer, cfg, rng: np.random.Generator, run=None, progress: bool | None = None,
        log=None, resume: bool = False) -> FitResult:
    """Train ``net`` on ``task`` (an object of lstmkit.training.forecast/text/classify).

    ``run`` (a :class:`lstmkit.runs.Run` or None) receives metrics and checkpoints; with ``resume``
    the loop continues from its checkpoint. ``log(str)`` receives one line per epoch.
    """
    from tqdm.auto import tqdm

    st = LoopState()
    best = net.flat.copy()
    guard = GuardedStep(optimizer, cfg.grad_norm_limit)
    if resume:
        # weights, best weights and up to two optimiser moments, in float64 at most
        arrays, meta = run.load_checkpoint(max_bytes=4 * net.flat.size * 8 + 4096)
        st = _restore(arrays, meta, net, best, optimizer, rng, cfg, run.path)
        run.rewrite_metrics(st.history)          # drop a line of an epoch whose checkpoint never landed
    if st.done:
        net.flat[...] = best
        return FitResult(st, net)
    bar = tqdm(total=cfg.epochs * task.items_per_epoch, initial=st.epoch * task.items_per_epoch,
               unit=task.item_unit, unit_scale=True, dynamic_ncols=True, leave=False,
               disable=True if progress is False else (False if progress is True else None), mininterval=0.5)
    try:
        while st.epoch < cfg.epochs:
            guard.ctx = StepContext(epoch=st.epoch + 1)
            bar.set_description(f"epoch {st.epoch + 1}/{cfg.epochs}")
            t0 = time.perf_counter()
            # Dropout and zoneout draw from the trainer's rng, which the checkpoint keeps: a resumed run
            # draws the same masks. Without such options the rng is not touched and nothing changes.
            net.train(rng=rng)
            train = task.train_epoch(net, guard, rng, bar)
            net.eval()
            guard.check_loss(train["train_loss"])
            if not np.isfinite(net.flat).all():
                raise Diverged(f"weights became non-finite during epoch {st.epoch + 1}")
            val = task.evaluate(net)
            if not np.isfinite(val["val_loss"]):
                raise Diverged(f"the validation loss became {val['val_loss']} after epoch {st.epoch + 1}")
            secs = time.perf_counter() - t0
            st.epoch += 1
            record = {"epoch": st.epoch, **train, **val, "grad_norm_max": guard.ctx.max_norm,
                      "seconds": round(secs, 4), "throughput": round(task.items_per_epoch / max(secs, 1e-9), 1)}
            if val["val_loss"] < st.best_loss:
                st.best_loss, st.best_epoch, st.bad_epochs = float(val["val_loss"]), st.epoch, 0
                best[...] = net.flat
            else:
                st.bad_epochs += 1
            st.seconds += secs
            st.history.append(record)
            if cfg.patience and st.bad_epochs >= cfg.patience:
                st.done, st.stop_reason = True, f"no better validation loss for {cfg.patience} epochs"
            elif st.epoch >= cfg.epochs:
                st.done, st.stop_reason = True, f"{cfg.epochs} epochs"
            if run is not None:
                opt_arrays, opt_scalars = _opt_state_split(optimizer.state_dict()) if optimizer else ({}, {})
                run.save_checkpoint({"weights": net.flat, "best_weights": best, **opt_arrays},
                                    {"rng": rng.bit_generator.state, "optimizer": opt_scalars,
                                     "loop": {k: v for k, v in st.__dict__.items()}})
                run.append_metrics(record)
            bar.set_postfix_str(f"loss {train['train_loss']:.4f} val {val['val_loss']:.4f}", refresh=False)
            if log is not None:
                log(task.epoch_line(record, cfg.epochs))
            if st.done:
                break
    except Diverged as e:
        where = ""
        if run is not None:
            where = (f"; the last good checkpoint (epoch {st.epoch}) is kept in {run.path}"
                     if st.epoch else "; no epoch had finished, so nothing was kept")
        raise Diverged(f"training stopped: {e}; no non-finite weights were written{where}; "
                       f"lower --lr (now {cfg.lr:g}) or set --clip-norm") from None
    finally:
        net.eval()
        bar.close()
    net.flat[...] = best
    return FitResult(st, net)
