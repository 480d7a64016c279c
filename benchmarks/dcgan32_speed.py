"""Speed of the 32 x 32 x 3 DCGAN of Radford et al. 2016 (ganbench's ``arch = "dcgan_radford"``,
the network of suites/papers/cifar10.toml) on this machine: training steps per second, side by
side in one run, at each --sizes entry (channels x batch; the published network is 128 x 128).

  ganbench engine      one run of a non-saturating GAN on a CIFAR-format stand-in (100 images
                       written to a temporary data directory), compiled as `ganbench run`
                       compiles a group (ganbench.run.compile.compile_group); steady state over
                       --reps chunks of --chunk steps. Its step is ganbench's: alternating
                       updates with a fresh batch and generator pass for each player, D called
                       on the real and the generated batch apart, and the per-step
                       diagnostics (input-gradient norms, update ratios), so it does more
                       arithmetic than the plain steps below
  jax, lax.conv        the same networks and loss in plain JAX (no Flax, no ganbench): one
                       generator pass, D on the real and on the generated batch, both players'
                       gradients, Adam(2e-4, 0.5, 0.999); lax.conv_general_dilated for the
                       convolutions (the transposed ones as dilated convolutions), a Python
                       loop over the jitted step
  jax, models.conv     that step with ganbench.models.conv's convolutions
  torch                the same step in PyTorch (nn.Conv2d / nn.ConvTranspose2d(5, 2, 2,
                       output_padding=1), BatchNorm, Adam), when `import torch` works, with
                       torch.set_num_threads(os.cpu_count())
  tensorflow           the same step in Keras with @tf.function, when `import tensorflow`
                       works (not a dependency; not importable where the numbers in the docs
                       were measured, so that row is absent there)

Images are random for the plain steps (speed does not depend on them). The load average is
printed with each row: the machine may be shared.

Usage: python benchmarks/dcgan32_speed.py [--sizes 128x128,32x64] [--chunk 10] [--reps 2]
           [--steps 5] [--skip engine,jax-lax,jax-conv,torch,tf]
(run it with a Python that also has PyTorch, or TensorFlow, for those rows)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

SUITE = """
[suite]
name = "dcgan32_speed"
seeds = 1
steps = {total}
eval_every = {chunk}

[defaults]
dataset = "cifar10"
batch_size = {batch}
z_dim = 100
latent = "uniform"
loss = "non_saturating"
generator = {{ arch = "dcgan_radford", channels = {channels} }}
discriminator = {{ arch = "dcgan_radford", channels = {channels} }}
optimizer = {{ name = "adam", lr_g = 2e-4, lr_d = 2e-4, b1 = 0.5, b2 = 0.999 }}

[metrics]
samples = 16

[[variants]]
name = "dcgan"
"""

Z_DIM = 100


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _size(text: str) -> tuple[int, int]:
    c, b = text.lower().split("x")
    return int(c), int(b)


# --------------------------------------------------------------------------- plain JAX


def jax_step(c: int, batch: int, conv_impl: str):
    """(init_state, step) of the DCGAN's training step in plain JAX."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    dn = ("NHWC", "HWIO", "NHWC")
    pad = ((2, 2), (2, 2))
    if conv_impl == "lax":

        def conv(x, w):
            return lax.conv_general_dilated(x, w, (2, 2), pad, dimension_numbers=dn)

        def conv_t(x, w):  # w: (5, 5, out, in); the gradient of conv with pad 2, to 2H
            flipped = jnp.swapaxes(w[::-1, ::-1], 2, 3)
            return lax.conv_general_dilated(
                x, flipped, (1, 1), ((2, 3), (2, 3)), lhs_dilation=(2, 2), dimension_numbers=dn
            )
    else:
        from ganbench.models import conv as gconv

        def conv(x, w):
            return gconv.conv(x, w, 2, pad)

        def conv_t(x, w):
            h = x.shape[1]
            return gconv.conv_transpose_padded(x, w, 2, pad, (2 * h, 2 * h))

    def normal(key, shape):
        return 0.02 * jax.random.normal(key, shape, jnp.float32)

    def init(key):
        k = jax.random.split(key, 8)
        g = {
            "dense": normal(k[0], (Z_DIM, 16 * 4 * c)),
            "deconv": [normal(k[1], (5, 5, 2 * c, 4 * c)), normal(k[2], (5, 5, c, 2 * c)),
                       normal(k[3], (5, 5, 3, c))],
            "bn": [(jnp.ones(n), jnp.zeros(n)) for n in (16 * 4 * c, 2 * c, c)],
        }  # fmt: skip
        d = {
            "conv": [normal(k[4], (5, 5, 3, c)), normal(k[5], (5, 5, c, 2 * c)),
                     normal(k[6], (5, 5, 2 * c, 4 * c))],
            "bn": [(jnp.ones(n), jnp.zeros(n)) for n in (2 * c, 4 * c)],
            "dense": normal(k[7], (16 * 4 * c, 1)),
        }  # fmt: skip
        return g, d

    def batch_norm(x, scale_bias):
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axes, keepdims=True)
        return (x - mean) * lax.rsqrt(var + 1e-8) * scale_bias[0] + scale_bias[1]

    def generator(g, z):
        x = jax.nn.relu(batch_norm(z @ g["dense"], g["bn"][0])).reshape(-1, 4, 4, 4 * c)
        x = jax.nn.relu(batch_norm(conv_t(x, g["deconv"][0]), g["bn"][1]))
        x = jax.nn.relu(batch_norm(conv_t(x, g["deconv"][1]), g["bn"][2]))
        return jnp.tanh(conv_t(x, g["deconv"][2]))

    def discriminator(d, x):
        x = jax.nn.leaky_relu(conv(x, d["conv"][0]), 0.2)
        x = jax.nn.leaky_relu(batch_norm(conv(x, d["conv"][1]), d["bn"][0]), 0.2)
        x = jax.nn.leaky_relu(batch_norm(conv(x, d["conv"][2]), d["bn"][1]), 0.2)
        return x.reshape(x.shape[0], -1) @ d["dense"]

    def adam(params, grads, moments, t):
        b1, b2, lr, eps = 0.5, 0.999, 2e-4, 1e-8
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, moments[0], grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, moments[1], grads)
        step = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        params = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, (m, v)

    def step(state, images):
        g, d, mom_g, mom_d, t, key = state
        key, k_z = jax.random.split(key)
        z = jax.random.uniform(k_z, (batch, Z_DIM), minval=-1.0, maxval=1.0)
        fake, g_vjp = jax.vjp(lambda g: generator(g, z), g)
        real_logits, real_vjp = jax.vjp(lambda d: discriminator(d, images), d)
        fake_logits, fake_vjp = jax.vjp(lambda d, x: discriminator(d, x), d, fake)
        n = fake_logits.size
        g_grad = g_vjp(fake_vjp(-jax.nn.sigmoid(-fake_logits) / n)[1])[0]
        d_grad = jax.tree.map(
            jnp.add,
            real_vjp(-jax.nn.sigmoid(-real_logits) / n)[0],
            fake_vjp(jax.nn.sigmoid(fake_logits) / n)[0],
        )
        t = t + 1.0
        g, mom_g = adam(g, g_grad, mom_g, t)
        d, mom_d = adam(d, d_grad, mom_d, t)
        return (g, d, mom_g, mom_d, t, key)

    def init_state():
        g, d = init(jax.random.key(0))

        def zeros(p):
            return (jax.tree.map(jnp.zeros_like, p), jax.tree.map(jnp.zeros_like, p))

        return (g, d, zeros(g), zeros(d), jnp.zeros(()), jax.random.key(1))

    return init_state, step, conv_t


def check_transposed_convolution() -> float:
    """The largest difference between the benchmark's lax transposed convolution and
    ganbench's (random 4 x 4 input, 5 x 5 kernel): the two rows compute the same network."""
    import jax
    import numpy as np

    from ganbench.models import conv as gconv

    _, _, conv_t = jax_step(2, 2, "lax")
    x = jax.random.normal(jax.random.key(0), (2, 4, 4, 3))
    w = jax.random.normal(jax.random.key(1), (5, 5, 2, 3))
    ref = gconv.conv_transpose_padded(x, w, 2, ((2, 2), (2, 2)), (8, 8))
    return float(np.max(np.abs(np.asarray(conv_t(x, w)) - np.asarray(ref))))


def bench_jax(c: int, batch: int, conv_impl: str, steps: int) -> tuple[float, float]:
    """(compile seconds, steps/s) of the plain step: a Python loop over the jitted step."""
    import jax

    init_state, step, _ = jax_step(c, batch, conv_impl)
    images = jax.random.uniform(jax.random.key(2), (batch, 32, 32, 3), minval=-1.0, maxval=1.0)
    state = init_state()
    t0 = time.perf_counter()
    fn = jax.jit(step, donate_argnums=0).lower(state, images).compile()
    compile_s = time.perf_counter() - t0
    state = fn(state, images)  # a first call: allocation, thread start-up
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for _ in range(steps):
        state = fn(state, images)
    jax.block_until_ready(state)
    return compile_s, steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- the engine


def bench_engine(c: int, batch: int, chunk: int, reps: int) -> tuple[float, float]:
    """(compile seconds, steps/s) of one run compiled as `ganbench run` compiles a group, on a
    CIFAR-format stand-in imported into a temporary data directory."""
    import tomllib

    import jax

    from ganbench.config.load import validate_document
    from ganbench.data.cifar10 import import_cifar10
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import Group

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    import cifar10_standin

    with tempfile.TemporaryDirectory() as tmp:
        cifar10_standin.write(Path(tmp) / "bin", records=20)
        os.environ["GANBENCH_DATA"] = str(Path(tmp) / "data")
        import_cifar10(Path(tmp) / "bin")
        text = SUITE.format(total=chunk * (reps + 1), chunk=chunk, batch=batch, channels=c)
        suite = validate_document(tomllib.loads(text), path=Path("<dcgan32_speed>"), text=text)
        compiled = compile_group(Group("dcgan32_speed", suite.runs), devices=jax.local_devices())
        state = compiled.state
        times = []
        for _ in range(reps + 1):  # the first chunk is not timed
            t0 = time.perf_counter()
            state, stats = compiled.chunk(state, compiled.hparams, compiled.data)
            jax.block_until_ready(stats)
            times.append(time.perf_counter() - t0)
    return compiled.compile_seconds, chunk * reps / sum(times[1:])


# --------------------------------------------------------------------------- PyTorch


def bench_torch(c: int, batch: int, steps: int) -> tuple[float, float]:
    """(seconds of the first step, steps/s) of the same step in PyTorch."""
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(Z_DIM, 16 * 4 * c, bias=False)
            self.bn0 = nn.BatchNorm1d(16 * 4 * c, eps=1e-8)
            self.net = nn.Sequential(
                nn.ConvTranspose2d(4 * c, 2 * c, 5, 2, 2, output_padding=1, bias=False),
                nn.BatchNorm2d(2 * c, eps=1e-8), nn.ReLU(),
                nn.ConvTranspose2d(2 * c, c, 5, 2, 2, output_padding=1, bias=False),
                nn.BatchNorm2d(c, eps=1e-8), nn.ReLU(),
                nn.ConvTranspose2d(c, 3, 5, 2, 2, output_padding=1, bias=False), nn.Tanh(),
            )  # fmt: skip

        def forward(self, z):
            x = torch.relu(self.bn0(self.dense(z))).view(-1, 4 * c, 4, 4)
            return self.net(x)

    d = nn.Sequential(
        nn.Conv2d(3, c, 5, 2, 2, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 5, 2, 2, bias=False), nn.BatchNorm2d(2 * c, eps=1e-8),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * c, 4 * c, 5, 2, 2, bias=False), nn.BatchNorm2d(4 * c, eps=1e-8),
        nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(16 * 4 * c, 1, bias=False),
    )  # fmt: skip
    g = G()
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    images = torch.rand(batch, 3, 32, 32) * 2 - 1
    loss = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        z = torch.rand(batch, Z_DIM) * 2 - 1
        fake = g(z)
        opt_d.zero_grad()
        (loss(d(images), ones) + loss(d(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        loss(d(fake), ones).backward()
        opt_g.step()

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return first, steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- TensorFlow


def bench_tf(c: int, batch: int, steps: int) -> tuple[float, float]:
    """(seconds of the first step, steps/s) of the same step in Keras with @tf.function."""
    import tensorflow as tf

    init = tf.keras.initializers.RandomNormal(stddev=0.02)
    layers = tf.keras.layers
    g = tf.keras.Sequential(
        [
            layers.Input((Z_DIM,)),
            layers.Dense(16 * 4 * c, use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(epsilon=1e-8), layers.ReLU(),
            layers.Reshape((4, 4, 4 * c)),
            layers.Conv2DTranspose(2 * c, 5, 2, "same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(epsilon=1e-8), layers.ReLU(),
            layers.Conv2DTranspose(c, 5, 2, "same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(epsilon=1e-8), layers.ReLU(),
            layers.Conv2DTranspose(3, 5, 2, "same", use_bias=False, kernel_initializer=init,
                                   activation="tanh"),
        ]
    )  # fmt: skip
    d = tf.keras.Sequential(
        [
            layers.Input((32, 32, 3)),
            layers.Conv2D(c, 5, 2, "same", use_bias=False, kernel_initializer=init),
            layers.LeakyReLU(0.2),
            layers.Conv2D(2 * c, 5, 2, "same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(epsilon=1e-8), layers.LeakyReLU(0.2),
            layers.Conv2D(4 * c, 5, 2, "same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(epsilon=1e-8), layers.LeakyReLU(0.2),
            layers.Flatten(), layers.Dense(1, use_bias=False, kernel_initializer=init),
        ]
    )  # fmt: skip
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    opt_g = tf.keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    opt_d = tf.keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    images = tf.random.uniform((batch, 32, 32, 3), -1.0, 1.0)

    @tf.function
    def step():
        z = tf.random.uniform((batch, Z_DIM), -1.0, 1.0)
        with tf.GradientTape() as tape_g, tf.GradientTape() as tape_d:
            fake = g(z, training=True)
            real_logits = d(images, training=True)
            fake_logits = d(fake, training=True)
            loss_d = bce(tf.ones_like(real_logits), real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
            loss_g = bce(tf.ones_like(fake_logits), fake_logits)
        grads_g = tape_g.gradient(loss_g, g.trainable_variables)
        grads_d = tape_d.gradient(loss_d, d.trainable_variables)
        opt_g.apply_gradients(zip(grads_g, g.trainable_variables, strict=True))
        opt_d.apply_gradients(zip(grads_d, d.trainable_variables, strict=True))

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return first, steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="128x128,32x64", help="channels x batch, comma-separated"
    )
    parser.add_argument("--chunk", type=int, default=10, help="engine steps per timed chunk")
    parser.add_argument("--reps", type=int, default=2, help="timed engine chunks")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of the plain steps")
    parser.add_argument("--skip", default="", help="rows to skip: engine,jax-lax,jax-conv,torch,tf")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    print(
        f"# DCGAN (Radford et al. 2016) at 32 x 32 x 3: training steps/s; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"# lax vs ganbench transposed convolution: max |difference| {check_transposed_convolution():.2e}"
    )
    print(
        "| channels x batch | implementation | compile or first step (s) | steps/s | ms/step | load |"
    )
    print("|---|---|---:|---:|---:|---:|")
    rows = [
        ("engine", "ganbench engine", lambda c, b: bench_engine(c, b, args.chunk, args.reps)),
        ("jax-lax", "jax, lax.conv", lambda c, b: bench_jax(c, b, "lax", args.steps)),
        ("jax-conv", "jax, models.conv", lambda c, b: bench_jax(c, b, "ganbench", args.steps)),
        ("torch", "torch", lambda c, b: bench_torch(c, b, args.steps)),
        ("tf", "tensorflow", lambda c, b: bench_tf(c, b, args.steps)),
    ]
    for size in args.sizes.split(","):
        c, b = _size(size)
        for key, label, fn in rows:
            if key in skip:
                continue
            try:
                first, rate = fn(c, b)
            except ImportError as exc:
                print(f"| {c} x {b} | {label} | not importable ({exc.name}) | | | |")
                continue
            print(
                f"| {c} x {b} | {label} | {first:.1f} | {rate:.3f} | {1000 / rate:.0f} | {_load()} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
