"""Training cost of a labelled dataset's classifier (ganbench.extractors.labelled) at CIFAR-10's
size: one epoch over N images of S x S x C (default 50,000 of 32 x 32 x 3, CIFAR-10's training
set) with the library's recipe (Adam, batch 64, cosine decay), on random pixels and labels
(the cost does not depend on the values). Prints the wall time of the epoch including the
compilation, the steady seconds per step (timed from step 25 on, after compilation) and the
seconds per epoch they give, with the machine's load average before and after.

Usage: python benchmarks/labelled_classifier.py [--n 50000] [--side 32] [--channels 3]
                                                [--classes 10] [--steps STEPS]
``--steps`` stops after that many steps (the epoch's time is then extrapolated from the steady
rate).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _Stop(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()

    import jax

    from ganbench.extractors import labelled

    load = os.getloadavg()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.n, args.side, args.side, args.channels), dtype=np.uint8)
    y = rng.integers(0, args.classes, args.n)
    net = labelled.LabelledCNN(side=args.side, channels=args.channels, classes=args.classes)
    settings = {**labelled.SETTINGS, "epochs": 1, "min_steps": 0}
    per_epoch = args.n // settings["batch_size"]
    marks: list[tuple[int, float]] = []

    def on_steps(done: int, total: int, epoch: int, loss: float) -> None:
        marks.append((done, time.perf_counter()))
        if args.steps is not None and done >= args.steps:
            raise _Stop

    t0 = time.perf_counter()
    with contextlib.suppress(_Stop):
        labelled.train_cnn(net, x, y, on_steps=on_steps, **settings)
    wall = time.perf_counter() - t0
    (s0, t_first), (s1, t_last) = marks[0], marks[-1]
    per_step = (t_last - t_first) / (s1 - s0)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, jax {jax.__version__}")  # fmt: skip
    print(f"images: {args.n:,} x {args.side} x {args.side} x {args.channels}, "
          f"{args.classes} classes; batch {settings['batch_size']}, {per_epoch} steps per epoch")  # fmt: skip
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    print(f"ran {s1} steps in {wall:.1f} s (compilation included)")
    print(f"steady: {1000 * per_step:.1f} ms per step -> {per_step * per_epoch:.0f} s per epoch")


if __name__ == "__main__":
    main()
