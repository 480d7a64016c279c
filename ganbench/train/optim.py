"""Optimisers with traced hyperparameters.

Each optimiser is built with ``optax.inject_hyperparams`` so learning rates, betas and the like are
arrays in the optimiser state: a learning-rate sweep is one compiled program. An optimiser's knobs
are validated by the suite schema (name, default, allowed range).
"""

from __future__ import annotations

from dataclasses import dataclass

import optax

from ganbench.registry import Registry


@dataclass(frozen=True)
class Knob:
    default: float | None  # None: required
    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True
    help: str = ""

    def check(self, value: float) -> str | None:
        lo_ok = value >= self.low if self.low_inclusive else value > self.low
        hi_ok = value <= self.high if self.high_inclusive else value < self.high
        if lo_ok and hi_ok:
            return None
        lo = "[" if self.low_inclusive else "("
        hi = "]" if self.high_inclusive else ")"
        return f"must be in {lo}{self.low:g}, {self.high:g}{hi}, got {value!r}"


@dataclass(frozen=True)
class OptimizerSpec:
    factory: object  # optax factory taking learning_rate and the knobs below
    knobs: dict[str, Knob]  # optax keyword -> knob (learning_rate is lr_g / lr_d)


_LR = Knob(None, 0.0, 10.0, low_inclusive=False, help="learning rate, required")
_UNIT = dict(low=0.0, high=1.0, high_inclusive=False)

OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")
OPTIMIZERS.add(
    "adam",
    OptimizerSpec(
        optax.adam,
        {
            "b1": Knob(0.9, **_UNIT, help="first-moment decay"),
            "b2": Knob(0.999, **_UNIT, help="second-moment decay"),
            "eps": Knob(1e-8, 0.0, 1.0, low_inclusive=False, help="denominator epsilon"),
        },
    ),
    help="Adam (Kingma & Ba 2015); defaults b1 0.9, b2 0.999, eps 1e-8",
    knobs={"lr_g": "float > 0", "lr_d": "float > 0", "b1": "[0, 1)", "b2": "[0, 1)", "eps": "> 0"},
)
OPTIMIZERS.add(
    "rmsprop",
    OptimizerSpec(
        optax.rmsprop,
        {
            "decay": Knob(0.9, **_UNIT, help="squared-gradient decay"),
            "eps": Knob(1e-8, 0.0, 1.0, low_inclusive=False, help="denominator epsilon"),
        },
    ),
    help="RMSProp (Tieleman & Hinton 2012); defaults decay 0.9, eps 1e-8",
    knobs={"lr_g": "float > 0", "lr_d": "float > 0", "decay": "[0, 1)", "eps": "> 0"},
)
OPTIMIZERS.add(
    "sgd",
    OptimizerSpec(optax.sgd, {"momentum": Knob(0.0, **_UNIT, help="heavy-ball momentum")}),
    help="gradient descent with optional heavy-ball momentum",
    knobs={"lr_g": "float > 0", "lr_d": "float > 0", "momentum": "[0, 1), default 0"},
)

LR_KNOBS = {"lr_g": _LR, "lr_d": _LR}


def make_optimizer(name: str) -> optax.GradientTransformation:
    """An optimiser whose hyperparameters are set at ``init`` from arrays (see :func:`init_opt`)."""
    return optax.inject_hyperparams(OPTIMIZERS.get(name).factory)


def init_optimizer(name: str, params, learning_rate, knobs: dict):
    """Optimiser and state for ``params`` with (possibly traced) hyperparameters."""
    opt = make_optimizer(name)(learning_rate=learning_rate, **knobs)
    return opt, opt.init(params)
