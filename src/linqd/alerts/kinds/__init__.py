"""One evaluator per trigger kind, each a pure function (see ``base``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import TriggerKind
from . import deviation, each, gradient, inactivity, low, rolling, several
from .base import Evaluate, KindState, Shape, Step

EVALUATORS: Mapping[TriggerKind, Evaluate] = {
    TriggerKind.EACH: each.evaluate,
    TriggerKind.SEVERAL: several.evaluate,
    TriggerKind.LOW: low.evaluate,
    TriggerKind.INACTIVITY: inactivity.evaluate,
    TriggerKind.ROLLING: rolling.evaluate,
    TriggerKind.DEVIATION: deviation.evaluate,
    TriggerKind.GRADIENT: gradient.evaluate,
}

__all__ = ["EVALUATORS", "Evaluate", "KindState", "Shape", "Step"]
