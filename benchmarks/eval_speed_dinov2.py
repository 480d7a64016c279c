"""DINOv2 feature extraction speed: ganbench (JAX, CPU) against transformers' Dinov2Model
(PyTorch, CPU, ``torch.set_num_threads(2)``) with the same random weights, side by side.

For each size (ViT-S/14, B/14, L/14) one random model is built by transformers (518-pixel
position embeddings, as the released checkpoints have), saved as a ``pytorch_model.bin`` and
converted by ``scripts/convert_dinov2.py``; then for each batch size a fresh process per library
embeds the same uint8 images of 224 x 224 (no resize: the network's own cost): one untimed
batch (ganbench compiles there), then ``--repeats`` timed passes over ``--images`` images, of
which the best is reported. Peak RSS is each process's maximum resident set size (weights,
compiled code and activations; the library imports included). The two processes of a row run
one after the other, the load average is printed with each.

Needs PyTorch and transformers (``nox -s peers`` installs them); never run by the tests.

With ``--profile`` it times instead the parts of one transformer block alone (the matmuls,
GELU, LayerNorm, attention over the whole batch and per image), JAX against PyTorch: where
ganbench's time goes.

Usage: python benchmarks/eval_speed_dinov2.py [--sizes s b l] [--batches 8 32] [--images N]
                                              [--repeats 2] [--profile]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {  # transformers' names for the sizes of ganbench.extractors.dinov2.ARCHITECTURES
    "s": dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6),
    "b": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12),
    "l": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16),
}


def _images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)


def _time(fn, images: np.ndarray, batch: int, repeats: int) -> tuple[float, float]:
    """(seconds of the first, untimed batch; best seconds of a pass over all images)."""
    start = time.perf_counter()
    fn(images[:batch])
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(images)
        best = min(best, time.perf_counter() - start)
    return first, best


def job_ganbench(folder: Path, size: str, batch: int, n: int, repeats: int) -> dict:
    from ganbench.extractors import dinov2

    model = dinov2.load(f"vit{size}14", folder / f"{size}.npz", batch_size=batch)
    first, best = _time(model.features, _images(n), batch, repeats)
    return {"first": first, "best": best}


def job_torch(folder: Path, size: str, batch: int, n: int, repeats: int) -> dict:
    import torch
    import transformers

    torch.set_num_threads(2)
    config = transformers.Dinov2Config(image_size=518, patch_size=14, **CONFIGS[size])
    model = transformers.Dinov2Model(config).eval()
    model.load_state_dict(torch.load(folder / f"{size}.bin", weights_only=True))
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)

    def features(images: np.ndarray) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch):
                x = torch.from_numpy(images[start : start + batch]).permute(0, 3, 1, 2)
                x = (x.to(torch.float32) / 255.0 - mean) / std
                out.append(model(pixel_values=x).pooler_output.numpy())
        return np.concatenate(out)

    first, best = _time(features, _images(n), batch, repeats)
    return {"first": first, "best": best, "attn": model.config._attn_implementation}


def job_weights(folder: Path, size: str, batch: int, n: int, repeats: int) -> dict:
    """The random model of ``size``, as a .bin and the converted .npz; the versions in use."""
    import jax
    import torch
    import transformers

    spec = importlib.util.spec_from_file_location(
        "convert_dinov2", ROOT / "scripts" / "convert_dinov2.py"
    )
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    torch.manual_seed(0)
    config = transformers.Dinov2Config(image_size=518, patch_size=14, **CONFIGS[size])
    model = transformers.Dinov2Model(config)
    torch.save(model.state_dict(), folder / f"{size}.bin")
    convert.convert(folder / f"{size}.bin", folder / f"{size}.npz")
    return {
        "versions": f"jax {jax.__version__}, torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}), transformers {transformers.__version__}"
    }


def job_profile(folder: Path, size: str, batch: int, n: int, repeats: int) -> dict:
    """Where one transformer block's time goes: each part alone, jitted JAX against PyTorch
    (2 threads) at the block's shapes (batch, 257 tokens, width D); best of ``repeats`` + 2."""
    import jax
    import jax.numpy as jnp
    import torch

    torch.set_num_threads(2)
    cfg = CONFIGS[size]
    d, heads, tokens = cfg["hidden_size"], cfg["num_attention_heads"], 257
    hd = d // heads
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, tokens, d), dtype=np.float32)
    h = rng.standard_normal((batch, tokens, 4 * d), dtype=np.float32)
    q = rng.standard_normal((batch, tokens, heads, hd), dtype=np.float32)
    w = {k: rng.standard_normal(s, dtype=np.float32) / np.float32(s[0] ** 0.5)
         for k, s in {"qkv": (d, 3 * d), "fc1": (d, 4 * d), "fc2": (4 * d, d)}.items()}  # fmt: skip

    def batch_attention(q, k, v):
        s = jnp.einsum("bqhc,bkhc->bhqk", q, k) * (hd**-0.5)
        return jnp.einsum("bhqk,bkhc->bqhc", jax.nn.softmax(s, -1), v)

    def image_attention(q, k, v):
        def one(t):
            s = jnp.einsum("qhc,khc->hqk", t[0], t[1]) * (hd**-0.5)
            return jnp.einsum("hqk,khc->qhc", jax.nn.softmax(s, -1), t[2])

        return jax.lax.map(one, (q, k, v))

    def layer_norm(x):
        mean = x.mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-6)

    f = torch.nn.functional
    tx, th = torch.from_numpy(x), torch.from_numpy(h)
    tq = torch.from_numpy(q).transpose(1, 2).contiguous()
    tw = {k: torch.from_numpy(v) for k, v in w.items()}
    parts = {  # name: (JAX function, its arguments, PyTorch thunk)
        "qkv matmul": (lambda x, w: x @ w, (x, w["qkv"]), lambda: tx @ tw["qkv"]),
        "fc1 matmul": (lambda x, w: x @ w, (x, w["fc1"]), lambda: tx @ tw["fc1"]),
        "fc2 matmul": (lambda x, w: x @ w, (h, w["fc2"]), lambda: th @ tw["fc2"]),
        "GELU (erf)": (lambda h: jax.nn.gelu(h, approximate=False), (h,), lambda: f.gelu(th)),
        "GELU (tanh, not used)": (lambda h: jax.nn.gelu(h, approximate=True), (h,),
                                  lambda: f.gelu(th, approximate="tanh")),
        "LayerNorm": (layer_norm, (x,), lambda: f.layer_norm(tx, (d,), eps=1e-6)),
        "attention, whole batch": (batch_attention, (q, q, q),
                                   lambda: f.scaled_dot_product_attention(tq, tq, tq)),
        "attention, per image (used)": (image_attention, (q, q, q),
                                        lambda: f.scaled_dot_product_attention(tq, tq, tq)),
    }  # fmt: skip

    def best(thunk) -> float:
        thunk()
        times = []
        for _ in range(repeats + 2):
            start = time.perf_counter()
            thunk()
            times.append(time.perf_counter() - start)
        return min(times) * 1e3

    out = {}
    with torch.inference_mode():
        for name, (fn, args, torch_thunk) in parts.items():
            jitted = jax.jit(fn)
            out[name] = (best(lambda j=jitted, a=args: jax.block_until_ready(j(*a))),
                         best(torch_thunk))  # fmt: skip
    return {"parts": out}


JOBS = {
    "ganbench": job_ganbench,
    "torch": job_torch,
    "weights": job_weights,
    "profile": job_profile,
}


def _child(args: argparse.Namespace) -> None:
    result = JOBS[args.job](Path(args.folder), args.size, args.batch, args.images, args.repeats)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def _run(folder: Path, job: str, size: str, batch: int, n: int, repeats: int) -> dict:
    cmd = [sys.executable, __file__, "--job", job, "--folder", str(folder), "--size", size,
           "--batch", str(batch), "--images", str(n), "--repeats", str(repeats)]  # fmt: skip
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{job} {size} {batch} failed:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    result["load"] = load
    return result


def _profile(args: argparse.Namespace) -> None:
    print(f"# one block's parts, ms, best of {args.repeats + 2}; {datetime.now():%Y-%m-%d %H:%M}")
    print("| size | batch | part | JAX ms | PyTorch ms | JAX / PyTorch | load 1 min |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for batch in args.batches:
                r = _run(Path(tmp), "profile", size, batch, 1, args.repeats)
                for part, (j, t) in r["parts"].items():
                    print(f"| ViT-{size.upper()}/14 | {batch} | {part} | {j:.1f} | {t:.1f} "
                          f"| {j / t:.2f} | {r['load']:.1f} |", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["s", "b", "l"], choices=sorted(CONFIGS))
    ap.add_argument("--batches", nargs="+", type=int, default=[8, 32])
    ap.add_argument("--images", type=int, help="images per pass (default 64; 32 for ViT-L)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--profile",
        action="store_true",
        help="instead: one block's parts timed alone (JAX vs PyTorch) per size and batch",
    )
    ap.add_argument("--job", choices=sorted(JOBS), help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        return _child(args)
    if args.profile:
        return _profile(args)

    header = ("| size | batch | ganbench img/s | transformers img/s | ganbench / transformers "
              "| ganbench first batch s | transformers first batch s | ganbench peak RSS MB "
              "| transformers peak RSS MB | load 1 min |")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            versions = _run(folder, "weights", size, 1, 1, 1)["versions"]
            n = args.images or (32 if size == "l" else 64)
            for batch in args.batches:
                g = _run(folder, "ganbench", size, batch, n, args.repeats)
                t = _run(folder, "torch", size, batch, n, args.repeats)
                gi, ti = n / g["best"], n / t["best"]
                rows.append(
                    f"| ViT-{size.upper()}/14 | {batch} | {gi:.2f} | {ti:.2f} | {gi / ti:.2f} "
                    f"| {g['first']:.1f} | {t['first']:.1f} | {g['rss_mb']:.0f} "
                    f"| {t['rss_mb']:.0f} | {g['load']:.1f}, {t['load']:.1f} |"
                )
                print(rows[-1].replace("|", " ").strip(), file=sys.stderr, flush=True)
            attn = t["attn"]
    print(f"# DINOv2 feature extraction, {datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {versions}; transformers attention {attn}; 224 x 224 uint8 "
          f"images, {args.images or '64 (ViT-L: 32)'} per pass, best of {args.repeats}")  # fmt: skip
    print(header)
    print("|" + "---|" * header.count(" |"))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
