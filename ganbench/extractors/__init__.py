"""Image feature extractors that ganbench trains itself, and a checksummed cache for their
weights."""

from ganbench.extractors.cache import CacheMismatchWarning, array_fingerprint, load_or_train
from ganbench.extractors.mnist_cnn import (
    FEATURE_DIM,
    MnistCNN,
    accuracy,
    features,
    logits,
    to_model_input,
    train_classifier,
)

__all__ = [
    "FEATURE_DIM",
    "CacheMismatchWarning",
    "MnistCNN",
    "accuracy",
    "array_fingerprint",
    "features",
    "load_or_train",
    "logits",
    "to_model_input",
    "train_classifier",
]
