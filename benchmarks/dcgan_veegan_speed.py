"""Training speed of arch `dcgan_veegan` (PacGAN's Stacked MNIST DCGAN, VEEGAN setup) in the
ganbench engine, and what PacGAN's protocol would take at that speed.

One run (one seed) of the non-saturating GAN on Stacked MNIST at the reference's size
(gf_dim = df_dim = 64, z 100, batch 64; fjxmlzn/PacGAN
stacked_MNIST_experiments/VEEGAN_experiment/config.py), for each --pack, compiled as
`ganbench run` compiles a group (ganbench.run.compile.compile_group); steady state over --reps chunks of
--chunk steps after one untimed chunk. The protocol is 50 epochs of 128,000 images at batch 64,
i.e. 50 * 128,000 / 64 = 100,000 discriminator steps (config.py: epoch 50,
num_training_sample 128000, batch_size 64); the reference takes two generator steps per
discriminator step (model.py, train), ganbench's engine one, so the estimate is a lower bound
for a faithful step. Evaluation (26,000 samples per evaluation) is not included.

Usage: GANBENCH_DATA=DIR python benchmarks/dcgan_veegan_speed.py [--pack 1,2] [--chunk 5]
           [--reps 2] [--channels 64] [--batch 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

SUITE = """
[suite]
name = "dcgan_veegan_speed"
seeds = 1
steps = {total}
eval_every = {chunk}

[defaults]
dataset = "stacked_mnist"
batch_size = {batch}
z_dim = 100
pack = {pack}
generator = {{ arch = "dcgan_veegan", channels = {channels} }}
discriminator = {{ arch = "dcgan_veegan", channels = {channels} }}
optimizer = {{ name = "adam", lr_g = 2e-4, lr_d = 2e-4, b1 = 0.5, b2 = 0.999 }}

[metrics]
samples = 16

[[variants]]
name = "dcgan"
loss = "non_saturating"
"""

PROTOCOL_STEPS = 50 * 128_000 // 64  # 100,000


def bench(pack: int, channels: int, batch: int, chunk: int, reps: int) -> dict:
    import tomllib

    import jax

    from ganbench.config.load import validate_document
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import Group

    text = SUITE.format(
        total=chunk * (reps + 1), chunk=chunk, batch=batch, channels=channels, pack=pack
    )
    suite = validate_document(tomllib.loads(text), path=Path("<speed>"), text=text)
    t0 = time.perf_counter()
    compiled = compile_group(Group("speed", suite.runs), devices=jax.local_devices())
    compile_s = time.perf_counter() - t0
    state, times = compiled.state, []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        state, stats = compiled.chunk(state, compiled.hparams, compiled.data)
        jax.block_until_ready(stats)
        times.append(time.perf_counter() - t0)
    rate = chunk * reps / sum(times[1:])
    return {"pack": pack, "compile_s": compile_s, "steps_per_s": rate, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="1,2")
    parser.add_argument("--chunk", type=int, default=5)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    import jax

    print(f"jax {jax.__version__}, devices {jax.devices()}, cpus {os.cpu_count()}")
    for pack in (int(p) for p in args.pack.split(",")):
        load = os.getloadavg()[0]
        r = bench(pack, args.channels, args.batch, args.chunk, args.reps)
        hours = PROTOCOL_STEPS / r["steps_per_s"] / 3600
        print(
            f"pack {pack}: compile {r['compile_s']:.0f} s, {r['steps_per_s']:.3f} steps/s "
            f"({1 / r['steps_per_s']:.2f} s/step; chunks {', '.join(f'{t:.1f}' for t in r['times'])}"
            f" s), load before {load:.1f}; {PROTOCOL_STEPS:,} steps: {hours:.1f} h"
        )


if __name__ == "__main__":
    main()
