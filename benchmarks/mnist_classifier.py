"""Accuracy and training time of the MNIST feature classifier (ganbench.extractors.mnist_cnn).

Reads the four MNIST IDX files (gzip-compressed) from DATA_DIR, trains the classifier with the
given settings (the library defaults unless overridden) and prints, after each epoch, the
cumulative training seconds (including the first epoch's compilation, excluding evaluation) and
the test accuracy on the 10,000 test images.

Usage: python benchmarks/mnist_classifier.py [DATA_DIR] [--epochs 3] [--batch-size 128]
                                             [--lr 1e-3] [--seed 0]
DATA_DIR defaults to ../shared/data/mnist relative to the repository root.
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = {
    "train_images": "train-images.idx3-ubyte.gz",
    "train_labels": "train-labels.idx1-ubyte.gz",
    "test_images": "t10k-images.idx3-ubyte.gz",
    "test_labels": "t10k-labels.idx1-ubyte.gz",
}


def _read_idx_gz(path: Path) -> np.ndarray:
    """A gzip-compressed IDX file of unsigned bytes: 0x00 0x00, type 0x08 (uint8), the number of
    dimensions, then that many big-endian uint32 sizes, then the data in C order."""
    raw = gzip.decompress(path.read_bytes())
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (header {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} data bytes for dimensions {dims}")
    return data.reshape(dims)


def main() -> None:
    from ganbench.extractors import mnist_cnn

    defaults = inspect.signature(mnist_cnn.train_classifier).parameters
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data_dir", nargs="?", default=str(ROOT / ".." / "shared" / "data" / "mnist"))
    ap.add_argument("--epochs", type=int, default=defaults["epochs"].default)
    ap.add_argument("--batch-size", type=int, default=defaults["batch_size"].default)
    ap.add_argument("--lr", type=float, default=defaults["lr"].default)
    ap.add_argument("--seed", type=int, default=defaults["seed"].default)
    args = ap.parse_args()

    data_dir = Path(args.data_dir)
    missing = [name for name in FILES.values() if not (data_dir / name).is_file()]
    if missing:
        sys.exit(f"missing in {data_dir}: {', '.join(missing)}")
    data = {key: _read_idx_gz(data_dir / name) for key, name in FILES.items()}

    import jax

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__} on {jax.default_backend()}; "
        f"train {data['train_images'].shape}, test {data['test_images'].shape}; "
        f"batch {args.batch_size}, lr {args.lr}, seed {args.seed}"
    )
    print(f"{'epoch':>5} {'train_s':>8} {'loss':>8} {'test_acc':>8}", flush=True)
    clock = {"train": 0.0, "mark": time.perf_counter()}

    def on_epoch(epoch: int, params, loss: float) -> None:
        clock["train"] += time.perf_counter() - clock["mark"]
        acc = mnist_cnn.accuracy(params, data["test_images"], data["test_labels"])
        print(f"{epoch:>5d} {clock['train']:>8.1f} {loss:>8.4f} {acc:>8.4f}", flush=True)
        clock["mark"] = time.perf_counter()

    mnist_cnn.train_classifier(
        data["train_images"],
        data["train_labels"],
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        on_epoch=on_epoch,
    )


if __name__ == "__main__":
    main()
