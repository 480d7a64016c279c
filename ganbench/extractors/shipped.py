"""The MNIST classifier's weights that ship with ganbench.

Each machine that trained its own classifier measured ``fid_mnist_cnn``, KID, precision/recall
and the class statistics in its own feature space: two users' numbers were not comparable, every
float of the extractors differing (TF-GAN's MNIST metrics likewise load one pretrained
classifier: ``data/classify_mnist_graph_def.pb`` in tensorflow/gan's
``tensorflow_gan/examples/mnist/util.py``). So
ganbench ships one: ``weights/mnist_cnn.npz`` (the parameters, one array per leaf) and
``weights/mnist_cnn.json`` (its SHA-256, the fingerprint of the MNIST files it was trained on,
the training settings and recipe, and its test accuracy), in the format of
:mod:`ganbench.extractors.cache`. They were made by

    ganbench data extractor --train --out ganbench/extractors/weights

which trains with :data:`ganbench.extractors.classifier.CLASSIFIER_SETTINGS` on the canonical
MNIST training files and measures the accuracy on the canonical test files.

:func:`load_shipped` returns them when they match the caller's data fingerprint and settings
(the canonical MNIST files and the current recipe), after checking the checksum; otherwise the
caller trains its own (data other than canonical MNIST, such as the tests' small stand-in) and
caches it in the data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganbench.extractors.cache import try_load

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
NAME = "mnist_cnn"


def paths(folder: Path = WEIGHTS_DIR, name: str = NAME) -> tuple[Path, Path]:
    """The weights file and its sidecar."""
    return folder / f"{name}.npz", folder / f"{name}.json"


def load_shipped(
    data_fingerprint: str, settings: dict[str, Any], folder: Path = WEIGHTS_DIR
) -> tuple[dict[str, Any] | None, dict[str, Any], str | None]:
    """``(params, info, None)`` when the shipped weights are for ``data_fingerprint`` and
    ``settings`` and pass their checksum, else ``(None, {}, why)``; ``why`` is None when they
    are simply for other data (not an error: the caller trains its own)."""
    weights, sidecar = paths(folder)
    params, meta, why = try_load(weights, sidecar, data_fingerprint, settings)
    if params is None or meta is None:
        if why is not None and why.startswith("data fingerprint changed"):
            why = None
        return None, {}, why
    info = {**meta, "retrained": False, "reason": None, "path": str(weights), "source": "shipped"}
    return params, info, None
