"""Learning algorithms (registry ``ALGORITHMS``) and optimisers (registry ``OPTIMIZERS``)."""
from .algorithms import ALGORITHMS
from .bptt import loss_and_gradient, tbptt
from .optim import OPTIMIZERS, Adam, Momentum, SGD, clip_gradient, make_optimizer

__all__ = ["ALGORITHMS", "OPTIMIZERS", "Adam", "Momentum", "SGD", "clip_gradient", "loss_and_gradient", "make_optimizer", "tbptt"]
