"""Feature extraction speed of ganbench's extractors against the peer libraries, on this machine.

Table 1, images per second, side by side in one run: each registered extractor that has a row
here, through ganbench (XLA) and through its peer's own network (PyTorch on the CPU, threads =
the machine's cores), with the same random weights on the same random uint8 32 x 32 x 3 images
(--size), at each --batches entry, each job in a fresh process:

  inception  ganbench             INCEPTION.load(weights, resize).features(images): the resize
                                  (pytorch_fid and the default legacy_tensorflow) and the
                                  network, batch by batch; "resize ms" and "network ms" split
                                  that time per image (ganbench.extractors.inception.preprocess,
                                  then the network alone on the resized batch); --profile:
                                  also with inception.VALID_AS_PADDED = False, the unpadded
                                  3 x 3 convolutions XLA:CPU runs slowly
             pytorch-fid          pytorch-fid's InceptionV3([3]) (its resize and normalisation
                                  inside forward) on ToTensor images (x / 255), under no_grad;
                                  "resize ms" is its F.interpolate alone; --peer-one-thread:
                                  also with torch.set_num_threads(1)

  warm-up s: the first batch (compilation, for ganbench); images/s: the --n images after it;
  peak RSS: the process's maximum resident memory (VmHWM), weights and images included.

Table 2, --e2e-n images (10,000 by default) of 32 x 32 x 3 through ``inception`` end to end:
load (the weights file, checked), features (resize and network, batch 50), statistics (mean
and covariance in float64).

The random weights are pytorch-fid's FID network (torchvision's Inception3 as pytorch-fid
builds it) with random scales and offsets and batch-norm statistics calibrated on random
images (features of order one; no denormal numbers), saved as its .pth and converted to .npz by
ganbench.extractors.inception.CONVERT_SNIPPET.

DINOv2's rows (against transformers' Dinov2Model) are benchmarks/eval_speed_dinov2.py's. Adding
an extractor's rows here: a function writing its random weights files (WEIGHTS) and a job for
its peer (PEER_JOBS); an extractor without them is skipped with a line saying so.

Usage: python benchmarks/eval_speed.py [--n 100] [--batches 10,50] [--size 32]
           [--extractors inception] [--e2e-n 10000] [--skip-e2e] [--peer-one-thread] [--profile]
(run it with a Python that has the peer libraries, as `nox -s peers` installs them: torch,
pytorch-fid; they are not dependencies of ganbench)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


# ----------------------------------------------------------------------------- weights


def _pytorch_fid_state_dict(seed: int = 0):
    """pytorch-fid's FID network with random weights, batch norm calibrated (module docstring)."""
    import numpy as np
    import torch
    from pytorch_fid import inception as pfid

    torch.manual_seed(seed)
    shell = pfid._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    state = shell.state_dict()
    for key, value in state.items():
        if key.endswith("bn.weight"):
            state[key] = torch.empty_like(value).uniform_(0.5, 1.5)
        elif key.endswith("bn.bias"):
            state[key] = torch.empty_like(value).normal_(0.0, 0.2)
    with _pytorch_fid_weights(state):
        net = pfid.fid_inception_v3()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        net(torch.from_numpy(rng.uniform(-1, 1, (8, 3, 299, 299)).astype(np.float32)))
    net.eval()
    return net.state_dict()


@contextlib.contextmanager
def _pytorch_fid_weights(state):
    """pytorch-fid's weights loader returns ``state`` instead of downloading."""
    from pytorch_fid import inception as pfid

    original = pfid.load_state_dict_from_url
    pfid.load_state_dict_from_url = lambda *a, **k: state
    try:
        yield
    finally:
        pfid.load_state_dict_from_url = original


def _inception_weights(folder: Path) -> dict[str, str]:
    import torch

    from ganbench.extractors.inception import CONVERT_SNIPPET

    torch.save(_pytorch_fid_state_dict(), folder / "pt_inception-2015-12-05-6726825d.pth")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(CONVERT_SNIPPET, {})
    finally:
        os.chdir(cwd)
    return {
        "ganbench": str(folder / "pt_inception.npz"),
        "peer": str(folder / "pt_inception-2015-12-05-6726825d.pth"),
    }


WEIGHTS = {"inception": _inception_weights}
"""Extractor name -> function(folder) writing random weights: {"ganbench": path, "peer": path}."""

GANBENCH_RESIZES = {"inception": ["pytorch_fid", "legacy_tensorflow"]}


# ----------------------------------------------------------------------------- jobs (children)


def _images(n: int, size: int):
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM of /proc/self/status (getrusage's ru_maxrss
    would carry the parent's peak across exec)."""
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return kb / 1024


def job_ganbench(
    extractor: str, resize: str, batch: int, n: int, size: int, weights: str, padded: bool = True
):
    import jax
    import numpy as np

    from ganbench.extractors.base import get_extractor

    if extractor == "inception":
        from ganbench.extractors import inception

        inception.VALID_AS_PADDED = padded

    model = get_extractor(extractor).load(weights, resize=resize, batch_size=batch)
    images = _images(batch + n, size)
    start = time.perf_counter()
    model.features(images[:batch])  # compiles the resize and the network
    warm = time.perf_counter() - start
    start = time.perf_counter()
    features = model.features(images[batch:])
    seconds = time.perf_counter() - start
    out = {"images_per_s": n / seconds, "warm_s": warm, "dim": int(features.shape[1])}
    if extractor == "inception":  # where the time goes: resize alone, network alone
        from ganbench.extractors import inception as I

        chunks = [images[batch + i : batch + i + batch] for i in range(0, n - batch + 1, batch)]
        start = time.perf_counter()
        inputs = [jax.block_until_ready(I.preprocess(c, resize)) for c in chunks]
        resize_s = time.perf_counter() - start
        start = time.perf_counter()
        for x in inputs:
            np.asarray(I._network(model.variables, x))
        network_s = time.perf_counter() - start
        count = batch * len(chunks)
        out.update(resize_ms=1e3 * resize_s / count, network_ms=1e3 * network_s / count)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def job_pytorch_fid(batch: int, n: int, size: int, weights: str, threads: int = 0):
    import torch
    import torch.nn.functional as F
    from pytorch_fid import inception as pfid

    torch.set_num_threads(threads or os.cpu_count() or 1)
    with _pytorch_fid_weights(torch.load(weights, map_location="cpu")):
        model = pfid.InceptionV3([3]).eval()
    images = _images(batch + n, size)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255  # ToTensor
    with torch.no_grad():
        start = time.perf_counter()
        model(x[:batch])
        warm = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(batch, batch + n, batch):
            model(x[i : i + batch])
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(batch, batch + n, batch):
            F.interpolate(x[i : i + batch], size=(299, 299), mode="bilinear", align_corners=False)
        resize_s = time.perf_counter() - start
    return {
        "images_per_s": n / seconds,
        "warm_s": warm,
        "resize_ms": 1e3 * resize_s / n,
        "network_ms": 1e3 * (seconds - resize_s) / n,
        "threads": torch.get_num_threads(),
        "peak_rss_mb": _peak_rss_mb(),
    }


PEER_JOBS = {"inception": ("pytorch-fid", "pytorch_fid", job_pytorch_fid)}
"""Extractor name -> (peer's name, the resize mode that is its protocol, job(batch, n, size,
weights))."""


def job_e2e(n: int, size: int, weights: str):
    import numpy as np

    from ganbench.extractors.base import get_extractor
    from ganbench.metrics.frechet import gaussian_stats

    images = _images(n, size)
    stages = {}
    start = time.perf_counter()
    model = get_extractor("inception").load(weights)
    stages["load"] = time.perf_counter() - start
    start = time.perf_counter()
    features = model.features(images)
    stages["features"] = time.perf_counter() - start
    start = time.perf_counter()
    mu, sigma = gaussian_stats(features)
    stages["statistics"] = time.perf_counter() - start
    assert np.all(np.isfinite(sigma)) and mu.shape == (2048,)
    return {"stages": stages, "resize": model.resize, "batch": model.info["batch_size"],
            "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


JOBS = {"ganbench": job_ganbench, "pytorch_fid": job_pytorch_fid, "e2e": job_e2e}


# ----------------------------------------------------------------------------- parent


def _run(kind: str, **kwargs) -> dict:
    """One job in a fresh process (its own compilation, its own peak memory)."""
    spec = json.dumps({"kind": kind, "kwargs": kwargs})
    proc = subprocess.run(
        [sys.executable, __file__, "--job", spec], capture_output=True, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": " | ".join(tail)}
    return json.loads(lines[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    return f"{cpu}, {os.cpu_count()} cores, python {platform.python_version()}"


def versions() -> str:
    import importlib.metadata as md

    names = ["jax", "flax", "torch", "pytorch-fid"]
    found = []
    for name in names:
        with contextlib.suppress(md.PackageNotFoundError):
            found.append(f"{name} {md.version(name)}")
    return ", ".join(found)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def table(header: list[str], rows: list[list]) -> None:
    def fmt(v) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    cells = [header] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in
                        enumerate(zip(row, widths, strict=True))))  # fmt: skip
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--n", type=int, default=100, help="images timed per job (after a warm-up batch)"
    )
    p.add_argument("--batches", default="10,50")
    p.add_argument("--size", type=int, default=32, help="side of the random square images")
    p.add_argument("--extractors", default="inception")
    p.add_argument("--e2e-n", type=int, default=10_000)
    p.add_argument("--skip-e2e", action="store_true")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also ganbench's Inception with XLA's unpadded convolutions "
        "(ganbench.extractors.inception.VALID_AS_PADDED = False)",
    )
    p.add_argument(
        "--peer-one-thread",
        action="store_true",
        help="also the peer with one thread (on a shared machine, OpenMP threads that wait for "
        "each other lose more than one thread does)",
    )
    p.add_argument("--job", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.job:
        spec = json.loads(args.job)
        print(json.dumps(JOBS[spec["kind"]](**spec["kwargs"])))
        return

    from ganbench.extractors.base import extractor_names

    batches = [int(b) for b in args.batches.split(",")]
    print(f"eval_speed, {time.strftime('%Y-%m-%d %H:%M')}: {machine()}; {versions()}")
    print(f"start: {load()}")
    registered = set(extractor_names())
    rows, weights_by = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.extractors.split(","):
            if name not in registered or name not in WEIGHTS:
                why = "not registered" if name not in registered else "no rows written for it"
                print(f"{name}: skipped ({why})")
                continue
            folder = Path(tmp) / name
            folder.mkdir()
            weights = weights_by[name] = WEIGHTS[name](folder)
            peer, peer_resize, _ = PEER_JOBS[name]
            for batch in batches:
                n = max(args.n // batch, 1) * batch
                for resize in GANBENCH_RESIZES[name]:
                    r = _run("ganbench", extractor=name, resize=resize, batch=batch, n=n,
                             size=args.size, weights=weights["ganbench"])  # fmt: skip
                    rows.append([name, "ganbench", resize, batch, r])
                if args.profile and name == "inception":
                    r = _run("ganbench", extractor=name, resize=resize, batch=batch, n=n,
                             size=args.size, weights=weights["ganbench"], padded=False)  # fmt: skip
                    rows.append([name, "ganbench, unpadded convs", resize, batch, r])
                kind = peer.replace("-", "_")
                r = _run(kind, batch=batch, n=n, size=args.size, weights=weights["peer"])
                rows.append([name, peer, peer_resize, batch, r])
                if args.peer_one_thread:
                    r = _run(kind, batch=batch, n=n, size=args.size, weights=weights["peer"],
                             threads=1)  # fmt: skip
                    rows.append([name, f"{peer}, 1 thread", peer_resize, batch, r])
        header = ["extractor", "implementation", "resize", "batch", "images/s", "warm-up s",
                  "resize ms/img", "network ms/img", "peak RSS MB"]  # fmt: skip
        out = []
        for name, impl, resize, batch, r in rows:
            if "error" in r:
                out.append(
                    [name, impl, resize, str(batch), "error: " + r["error"][:80], "", "", "", ""]
                )
                continue
            out.append([name, impl, resize, str(batch), r["images_per_s"], r["warm_s"],
                        r.get("resize_ms", ""), r.get("network_ms", ""), r["peak_rss_mb"]])  # fmt: skip
        print(f"\nTable 1: feature extraction, {args.size} x {args.size} x 3 uint8 images, "
              f"{args.n} timed per job")  # fmt: skip
        table(header, out)
        for _name, impl, _, batch, r in rows:
            if impl == "pytorch-fid" and "threads" in r:
                print(f"(pytorch-fid at batch {batch}: torch threads {r['threads']})")
                break
        if not args.skip_e2e and "inception" in weights_by:
            r = _run(
                "e2e", n=args.e2e_n, size=args.size, weights=weights_by["inception"]["ganbench"]
            )
            print(f"\nTable 2: {args.e2e_n} images of {args.size} x {args.size} x 3 through "
                  f"inception end to end")  # fmt: skip
            if "error" in r:
                print("error:", r["error"])
            else:
                total = sum(r["stages"].values())
                stage_rows = [[k, "", "", f"{v:.1f}"] for k, v in r["stages"].items()]
                stage_rows.append(["total", f"resize {r['resize']}", f"batch {r['batch']}",
                                   f"{total:.1f} s, {args.e2e_n / total:.1f} images/s, "
                                   f"peak RSS {r['peak_rss_mb']:.0f} MB"])  # fmt: skip
                table(["stage", "", "", "seconds"], stage_rows)
    print(f"\nend: {load()}")


if __name__ == "__main__":
    main()
