"""Optimisers with traced hyperparameters.

Each optimiser is built with ``optax.inject_hyperparams`` so learning rates, betas and the like are
arrays in the optimiser state: a learning-rate sweep is one compiled program. An optimiser's knobs
are validated by the suite schema (name, default, allowed range).

Separate learning rates for the two players (``lr_g`` and ``lr_d``) are the two time-scale update
rule, TTUR (Heusel et al. 2017, section 2): set ``lr_d`` above ``lr_g``.
"""

from __future__ import annotations

from dataclasses import dataclass

import optax

from ganbench.knobs import Knob
from ganbench.registry import Registry


@dataclass(frozen=True)
class OptimizerSpec:
    factory: object  # optax factory taking learning_rate and the knobs below
    knobs: dict[str, Knob]  # optax keyword -> knob (learning_rate is lr_g / lr_d)


def optimistic_adam(
    learning_rate: float,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> optax.GradientTransformation:
    """Optimistic Adam (Daskalakis et al. 2018, Algorithm 1, without AMSGrad).

    With ``r_t`` Adam's bias-corrected direction m_t / (sqrt(v_t) + eps), the update is
    ``-2 lr r_t + lr r_{t-1}`` (optimistic mirror descent applied to Adam's direction). At the
    first step ``r_0 = r_1``, so the first update is plain Adam. ``eps_root`` is added to v_t
    inside the square root, as in ``optax.adam``: 0 by default; unrolling sets it above 0 to
    differentiate through the update.
    """
    return optax.chain(
        optax.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        optax.scale_by_optimistic_gradient(alpha=learning_rate, beta=learning_rate),
        optax.scale(-1.0),
    )


_LR = Knob(None, 0.0, 10.0, low_inclusive=False, help="learning rate")
_UNIT = dict(low=0.0, high=1.0, high_inclusive=False)
_EPS = Knob(1e-8, 0.0, 1.0, low_inclusive=False, help="denominator epsilon")
_ADAM_KNOBS = {
    "b1": Knob(0.9, **_UNIT, help="first-moment decay"),
    "b2": Knob(0.999, **_UNIT, help="second-moment decay"),
    "eps": _EPS,
}
LR_KNOBS = {"lr_g": _LR, "lr_d": _LR}

OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")


def _add(name: str, spec: OptimizerSpec, help: str) -> None:
    OPTIMIZERS.add(name, spec, help=help, knobs={**LR_KNOBS, **spec.knobs})


_add("adam", OptimizerSpec(optax.adam, _ADAM_KNOBS), "Adam (Kingma & Ba 2015)")
_add(
    "optimistic_adam",
    OptimizerSpec(optimistic_adam, _ADAM_KNOBS),
    "optimistic Adam: update -2 lr r_t + lr r_(t-1) on Adam's direction r "
    "(Daskalakis et al. 2018, Algorithm 1)",
)
_add(
    "rmsprop",
    OptimizerSpec(
        optax.rmsprop, {"decay": Knob(0.9, **_UNIT, help="squared-gradient decay"), "eps": _EPS}
    ),
    "RMSProp (Tieleman & Hinton 2012): -lr g / sqrt(nu + eps), eps inside the root as in optax "
    "(PyTorch's RMSprop: sqrt(nu) + eps)",
)
_add(
    "sgd",
    OptimizerSpec(optax.sgd, {"momentum": Knob(0.0, **_UNIT, help="heavy-ball momentum")}),
    "gradient descent with optional heavy-ball momentum",
)


def make_optimizer(name: str):
    """An optimiser factory whose hyperparameters may be arrays (``optax.inject_hyperparams``)."""
    return optax.inject_hyperparams(OPTIMIZERS.get(name).factory)
