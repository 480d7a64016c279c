"""Evaluate anyone's samples against a reference (``ganbench eval``; ``ganbench.evaluate``):
the readers of what users bring (:mod:`~ganbench.evaluation.sources`), the cache of reference
features (:mod:`~ganbench.evaluation.cache`), the evaluation (:mod:`~ganbench.evaluation.core`) and
its renderings (:mod:`~ganbench.evaluation.render`)."""

from ganbench.evaluation.core import KNN_SAMPLES, METRIC_KEYS, EvalResult, MetricValue, evaluate

__all__ = ["KNN_SAMPLES", "METRIC_KEYS", "EvalResult", "MetricValue", "evaluate"]
