"""Image datasets for the compiled loop: MNIST and Stacked MNIST.

The dataset objects are small and hashable (they pick the compiled program); the pixels are
not part of them. :meth:`ImageData.arrays` loads the training images from the data directory
(:mod:`ganbench.data.mnist`) on the host; the runner places them on the devices once and passes
them to the compiled functions as an argument shared by every run of a group, so no program
embeds 47 MB of constants. :meth:`ImageData.sample` draws a batch inside the loop.

Pixels are scaled to [-1, 1] (x / 127.5 - 1), the range of the generator's tanh output, as in
the TensorFlow DCGAN tutorial this project's image suite follows.

- ``mnist``: 28 x 28 x 1, 10 classes; a sample is a uniformly drawn training image.
- ``stacked_mnist``: 28 x 28 x 3, 1000 modes (Metz et al. 2017, "Unrolled Generative
  Adversarial Networks", section 3.3; Srivastava et al. 2017, VEEGAN, section 5.2; Lin et al.
  2018, PacGAN, section 5): each channel is an independently drawn training image, and the mode
  is the triple of their digits (100 d0 + 10 d1 + d2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ganbench.data.base import DATASETS, IMAGE


@dataclass(frozen=True)
class ImageData:
    """An image dataset whose samples are ``channels`` independent MNIST digits stacked."""

    name: str
    channels: int = 1
    weights: tuple[float, ...] = ()

    height = 28
    width = 28
    kind: ClassVar[str] = IMAGE
    extractor: ClassVar[str | None] = "mnist_cnn"
    """The classifier whose features measure these images (ganbench's MNIST CNN, per channel)."""
    n_classes: ClassVar[int] = 10
    """Classes of one channel (the digits) that a classifier of these data learns."""

    @property
    def stacked(self) -> bool:
        """Several digits stacked as channels (Stacked MNIST): modes are digit tuples."""
        return self.channels > 1

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    @property
    def dim(self) -> int:
        return self.height * self.width * self.channels

    @property
    def n_modes(self) -> int:
        return 10**self.channels

    def weights_array(self) -> np.ndarray:
        return np.full(self.n_modes, 1.0 / self.n_modes)

    def arrays(self, data_dir=None) -> dict[str, np.ndarray]:
        """The training images (uint8, (60000, 28, 28)) from the data directory.

        Raises:
            DataError: when MNIST is missing (the message says how to get it).
        """
        from ganbench.data.mnist import load_mnist

        images, labels = load_mnist("train", data_dir)
        return {"images": images, "labels": labels}

    def train_data(self, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
        """MNIST's training digits, uint8 (60000, 28, 28, 1), and their labels (60000,): what a
        classifier of these data learns from (each channel of a Stacked MNIST image is one
        such digit)."""
        from ganbench.data.mnist import load_mnist

        images, labels = load_mnist("train", data_dir)
        return images[..., None], labels

    def fingerprint(self, data_dir=None) -> str:
        """The content of the data: the canonical SHA-256 of the four MNIST files (every load
        checks the files against them)."""
        from ganbench.data import mnist as mnist_data

        return "mnist:" + ",".join(mnist_data.SHA256[k] for k in mnist_data.FILES)

    def identity_data(self) -> str | None:
        """Nothing: the name pins the content (the files' checksums are fixed)."""
        return None

    def check_available(self, data_dir=None) -> None:
        """Raise DataError (saying how to get MNIST) unless both splits load."""
        from ganbench.data.mnist import load_mnist

        for split in self.splits:
            load_mnist(split, data_dir)

    splits: ClassVar[tuple[str, ...]] = ("train", "test")
    """The splits :meth:`eval_images` draws from (MNIST's training and test files)."""

    def eval_images(
        self, split: str, n: int | None = None, seed: int = 0, data_dir=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Images of ``split`` as uint8 (N, 28, 28, channels) with their labels (N, channels),
        for evaluation against a reference.

        One channel: the whole split in file order when ``n`` is None, else ``n`` images drawn
        without replacement with ``np.random.default_rng(seed)`` (sorted, so the draw is a
        subset in file order). Several channels (Stacked MNIST): ``n`` images (10,000 when None),
        each channel an independent uniform draw from the split, as :meth:`sample` draws in
        training.

        Raises:
            ConfigError: an unknown split; ``n`` larger than a one-channel split.
            DataError: MNIST missing (the message says how to get it).
        """
        from ganbench.data.mnist import load_mnist
        from ganbench.errors import ConfigError

        if split not in self.splits:
            raise ConfigError(
                f"dataset {self.name!r} has no split {split!r}; allowed: {', '.join(self.splits)}"
            )
        images, labels = load_mnist(split, data_dir)
        rng = np.random.default_rng(seed)
        if self.channels == 1:
            if n is None:
                return images[..., None], labels[:, None]
            if n > images.shape[0]:
                raise ConfigError(
                    f"{self.name}:{split} holds {images.shape[0]:,} images; asked for {n:,}"
                )
            idx = np.sort(rng.choice(images.shape[0], size=n, replace=False))
            return images[idx, ..., None], labels[idx, None]
        n = 10_000 if n is None else n
        idx = rng.integers(0, images.shape[0], size=(n, self.channels))
        return np.transpose(images[idx], (0, 2, 3, 1)), labels[idx]

    def sample(self, key, n: int, data=None):
        """``n`` images (n, 28, 28, channels) in [-1, 1], each channel a uniformly drawn
        training image."""
        import jax
        import jax.numpy as jnp

        if data is None:
            raise ValueError(f"dataset {self.name!r} samples need its arrays (see arrays())")
        images = data["images"]
        idx = jax.random.randint(key, (n, self.channels), 0, images.shape[0])
        x = images[idx].astype(jnp.float32) / 127.5 - 1.0  # (n, channels, 28, 28)
        return jnp.transpose(x, (0, 2, 3, 1))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "kind": "image",
            "shape": list(self.shape),
            "n_modes": self.n_modes,
            "source": "MNIST training images (LeCun, Cortes and Burges), scaled to [-1, 1]",
        }


def mnist() -> ImageData:
    return ImageData("mnist", 1)


def stacked_mnist() -> ImageData:
    return ImageData("stacked_mnist", 3)


DATASETS.add(
    "mnist",
    mnist,
    help="MNIST training digits, 28 x 28 x 1 in [-1, 1] (needs the files: ganbench data fetch "
    "mnist, or ganbench data import mnist DIR)",
)
DATASETS.add(
    "stacked_mnist",
    stacked_mnist,
    help="three MNIST digits as the channels of one 28 x 28 x 3 image, 1000 modes (Metz et al. "
    "2017; VEEGAN; PacGAN)",
)
