"""Minibatch training on a task generator: full BPTT, an optimiser, a stopping rule, a progress bar.

This is "today's practice" beside the paper's online rule: fresh minibatches from
``task.sample(rng, batch_size)``, the gradient of the summed loss by full BPTT, an optimiser step,
and every ``eval_every`` sequences an evaluation on fresh sequences with the task's own success
criterion. Training stops when the evaluation is fully correct (and, optionally, its mean error is
below ``target_error``) or when ``max_sequences`` have been seen.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..health import check_finite
from .bptt import loss_and_gradient


@dataclass
class TrainResult:
    solved: bool                 # stopping rule met within the budget
    sequences: int               # training sequences seen
    seconds: float               # wall time
    history: list = field(default_factory=list)  # [(sequences, train loss, eval fraction correct, eval error)]


def evaluate(net, task, rng, n: int, batch_size: int = 512) -> tuple[float, float]:
    """Fraction of ``n`` fresh sequences the task counts correct, and their mean error."""
    correct, errors = 0, []
    for start in range(0, n, batch_size):
        batch = task.sample(rng, min(batch_size, n - start))
        out, _ = net.forward(batch.x.astype(net.dtype, copy=False), lengths=batch.lengths)
        correct += int(task.correct(batch, out).sum())
        errors.append(task.error(batch, out))
    return correct / n, float(np.concatenate(errors).mean())


def train_on_task(net, task, optimizer, rng: np.random.Generator, batch_size: int = 32,
                  max_sequences: int = 100_000, loss: str = "half_sse", eval_every: int = 2_000,
                  eval_size: int = 256, target_error: float | None = None, progress: bool = True,
                  reduction: str = "mean") -> TrainResult:
    from tqdm.auto import tqdm

    t0, seen, history = time.perf_counter(), 0, []
    bar = tqdm(total=max_sequences, unit="seq", disable=not progress, dynamic_ncols=True, leave=False)
    solved, next_eval, running = False, eval_every, None
    try:
        while seen < max_sequences:
            batch = task.sample(rng, batch_size)
            value, _, _ = loss_and_gradient(net, batch.x.astype(net.dtype, copy=False), batch.y,
                                            loss=loss, lengths=batch.lengths, target_mask=batch.target_mask,
                                            reduction=reduction)
            check_finite("gradient", net.grad_flat, seen)      # the loss was checked before backward
            optimizer.step(net.flat, net.grad_flat)
            seen += batch_size
            running = value if running is None else 0.95 * running + 0.05 * value
            bar.update(batch_size)
            if seen >= next_eval:
                next_eval += eval_every
                frac, err = evaluate(net, task, rng, eval_size)
                history.append((seen, running, frac, err))
                bar.set_postfix(loss=f"{running:.4f}", correct=f"{frac:.3f}", err=f"{err:.4f}")
                if frac == 1.0 and (target_error is None or err < target_error):
                    solved = True
                    break
    finally:
        bar.close()
    return TrainResult(solved, seen, time.perf_counter() - t0, history)
