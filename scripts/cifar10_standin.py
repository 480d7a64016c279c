"""Write a CIFAR-10 stand-in: the six files of CIFAR-10's binary version, in exactly that format,
holding a few records of synthetic images, so that ``ganbench data import cifar10 DIR`` and the
CIFAR-10 suite can run where the real files are not (CI, a first try).

The format is the one https://www.cs.toronto.edu/~kriz/cifar.html specifies for the binary
version: ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``, each a sequence of
3,073-byte records: one label byte (0-9), then the 1,024 red, 1,024 green and 1,024 blue pixel
values of a 32 x 32 image, row by row. The images are class-coloured discs on noise (class c:
hue c / 10, so a generator has ten modes to find); ganbench imports them as a stand-in
(fewer records than CIFAR-10's 10,000 per file), whose fingerprint keeps its results apart
from CIFAR-10's.

    python scripts/cifar10_standin.py DIR [--records N] [--seed S]
"""

from __future__ import annotations

import argparse
import colorsys
from pathlib import Path

import numpy as np

FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def record(label: int, rng: np.random.Generator) -> bytes:
    """One record: label byte, then the R, G and B planes of a disc of the class's hue."""
    r, g, b = (int(255 * v) for v in colorsys.hsv_to_rgb(label / 10, 0.9, 0.9))
    yy, xx = np.mgrid[:32, :32]
    cy, cx, radius = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(5, 9)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    planes = rng.integers(0, 60, (3, 32, 32))
    for plane, value in zip(planes, (r, g, b), strict=True):
        plane[disc] = value
    return bytes([label]) + planes.astype(np.uint8).tobytes()


def write(folder: Path, records: int = 20, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in FILES:
        labels = rng.integers(0, 10, records)
        path = folder / name
        path.write_bytes(b"".join(record(int(c), rng) for c in labels))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=20, help="records per file (1-10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.records <= 10_000:
        parser.error("--records must be in [1, 10000]")
    paths = write(args.folder, args.records, args.seed)
    print(f"wrote {len(paths)} files of {args.records} records each in {args.folder}")


if __name__ == "__main__":
    main()
