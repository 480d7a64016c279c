"""Speed of the DCGAN of TensorFlow's DCGAN tutorial (tensorflow/docs,
site/en/tutorials/generative/dcgan.ipynb), ganbench's `arch = "dcgan"`, on this machine.

Table 1, training steps per second, side by side in one run, at each --sizes entry
(channels x batch; the tutorial's nets are 64 x 256, suites/mnist_dcgan.toml's 16 x 64):

  ganbench engine        one run of a non-saturating GAN on MNIST compiled as `ganbench run`
                         compiles a group (ganbench.run.compile.compile_group: jit of the vmapped chunk,
                         sharded; image programs as the runner splits them); steady state over
                         --reps chunks of --chunk steps. Its step is ganbench's: alternating
                         updates, a fresh batch (and generator pass) for each player, and the
                         per-step diagnostics, so it does more arithmetic than the tutorial's
                         (--engine-runs: also groups of several runs, reported as run-steps/s)
  jax, lax.conv          the tutorial's training step in plain JAX (no ganbench): Flax-free
                         networks on lax.conv_general_dilated / lax.conv_transpose, one
                         generator pass, both players' gradients, Adam(1e-4); a Python loop
                         over the jitted step ("jit"), or --scan-steps steps in one lax.scan
  jax, models.conv       the same step with ganbench.models.conv's convolutions
  tensorflow             the tutorial's own train_step (Keras Sequential generator and
                         discriminator, @tf.function, two GradientTapes, BCE from logits,
                         Adam(1e-4)), when `import tensorflow` works; "tf+xla" is the same
                         function with jit_compile=True

  GFLOP/step counts the multiply-adds (x2) of the convolutions and dense layers: analytically
  for the tutorial's step, with XLA's cost analysis of one engine step for the engine (whose
  convolutions are matrix products there).

Table 2, GFLOP/s of every convolution of the two networks at each --op-sizes entry: forward, gradient with
respect to the input (dx) and to the kernel (dw), with lax's convolution and JAX's own
derivatives ("lax") and with ganbench.models.conv ("ganbench"), each as one jitted call ("out")
and inside a lax.scan ("scan"); the discriminator's layers see 2 x batch images (real and
generated together, as in the engine). --op-vmap adds fwd+dx+dw over 2 runs under vmap (a kernel
per run) inside a scan. A dense matrix product gives the machine's reference peak. Below each
table: the time the tutorial step's convolutions would take if every one ran at the fastest rate
measured for it (any implementation, in or out of a scan), an upper bound on the steps/s of any
JAX step built from these convolutions, against TensorFlow's whole step when it is importable.

Images are random (speed does not depend on them), except the engine's, which reads MNIST from
the data directory ($GANBENCH_DATA or --data; `ganbench data import mnist DIR` puts it there).

Usage: python benchmarks/dcgan_speed.py [--sizes 64x256,16x64] [--chunk 10,50] [--reps 2]
           [--engine-runs 1,2,8,32] [--scan-steps 2] [--op-sizes 64x256,16x64] [--op-vmap] [--only steps,ops] [--data DIR]
           [--skip engine,jax-lax,jax-lax-scan,jax-conv,jax-conv-scan,tf,tf-xla]
(run it with a Python that also has TensorFlow for the TensorFlow rows; it is not a dependency)
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

SUITE = """
[suite]
name = "dcgan_speed"
seeds = {runs}
steps = {total}
eval_every = {chunk}

[defaults]
dataset = "mnist"
batch_size = {batch}
z_dim = 100
generator = {{ arch = "dcgan", channels = {channels} }}
discriminator = {{ arch = "dcgan", channels = {channels} }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4, b1 = 0.9, b2 = 0.999 }}

[metrics]
samples = 16

[[variants]]
name = "non-saturating"
loss = "non_saturating"
"""

Z_DIM = 100
HAVE_CONV = (Path(__file__).resolve().parent.parent / "ganbench" / "models" / "conv.py").exists()
"""ganbench.models.conv exists (older trees have only lax's convolutions)."""


def _size(text: str) -> tuple[int, int]:
    c, b = text.lower().split("x")
    return int(c), int(b)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


# --------------------------------------------------------------------------- FLOP counts


def layers(c: int, batch: int) -> list[tuple[str, str, int, int, int, int, int]]:
    """The convolutions of the tutorial's networks at ``c`` channels: (name, kind, images,
    input size, stride, input channels, output channels); D's layers see real and generated
    images together (2 x batch), as in the engine."""
    return [
        ("D conv_0", "conv", 2 * batch, 28, 2, 1, c),
        ("D conv_1", "conv", 2 * batch, 14, 2, c, 2 * c),
        ("G deconv_1", "convT", batch, 7, 1, 4 * c, 2 * c),
        ("G deconv_2", "convT", batch, 7, 2, 2 * c, c),
        ("G deconv_3", "convT", batch, 14, 2, c, 1),
    ]


def conv_flops(kind: str, n: int, size: int, s: int, cin: int, cout: int) -> int:
    """Multiply-adds x 2 of one 5x5 convolution (a transposed one: each input pixel meets
    every tap once; no zeros of a dilated input counted)."""
    pixels = (size // s) ** 2 if kind == "conv" else size**2
    return 2 * n * pixels * 25 * cin * cout


def tutorial_step_flops(c: int, batch: int) -> float:
    """The tutorial's train_step: G forward, D forward on the real and the generated batch,
    the generator's gradient (back through D to its input, then through G: kernel and input
    gradients) and D's gradient (kernel gradients on both batches, input gradients of conv_1)."""
    per = {
        name: conv_flops(kind, n // (2 if name[0] == "D" else 1), size, s, ci, co)
        for name, kind, n, size, s, ci, co in layers(c, batch)
    }
    dense_g = 2 * batch * Z_DIM * 49 * 4 * c
    dense_d = 2 * batch * 49 * 2 * c
    g_fwd = dense_g + per["G deconv_1"] + per["G deconv_2"] + per["G deconv_3"]
    d_fwd = dense_d + per["D conv_0"] + per["D conv_1"]  # one batch
    d_dx = dense_d + per["D conv_1"] + per["D conv_0"]  # back to the images
    g_bwd = 2 * g_fwd - dense_g  # kernel gradients of all, input gradients but the first
    d_bwd = 2 * (d_fwd + dense_d + per["D conv_1"])  # kernel grads + conv_1's input grads, x2
    return float(g_fwd + 2 * d_fwd + d_dx + g_bwd + d_bwd)


# --------------------------------------------------------------------------- plain JAX


def jax_tutorial(c: int, batch: int, conv_impl: str):
    """(init_state, step) of the tutorial's training step in plain JAX."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    if conv_impl == "lax":
        dn = ("NHWC", "HWIO", "NHWC")

        def conv(x, w, s):
            return lax.conv_general_dilated(x, w, (s, s), "SAME", dimension_numbers=dn)

        def conv_t(x, w, s):
            return lax.conv_transpose(
                x, w, (s, s), "SAME", dimension_numbers=dn, transpose_kernel=True
            )
    else:
        from ganbench.models import conv as gconv

        def conv(x, w, s):
            return gconv.conv(x, w, s, "SAME")

        def conv_t(x, w, s):
            return gconv.conv_transpose(x, w, s, "SAME")

    def glorot(key, shape, fan_in, fan_out):
        lim = float(np.sqrt(6.0 / (fan_in + fan_out)))
        return jax.random.uniform(key, shape, jnp.float32, -lim, lim)

    def init(key):
        k = jax.random.split(key, 6)
        c1, c2, c4 = c, 2 * c, 4 * c
        g = {
            "dense": glorot(k[0], (Z_DIM, 49 * c4), Z_DIM, 49 * c4),
            "deconv_1": glorot(k[1], (5, 5, c2, c4), 25 * c4, 25 * c2),
            "deconv_2": glorot(k[2], (5, 5, c1, c2), 25 * c2, 25 * c1),
            "deconv_3": glorot(k[3], (5, 5, 1, c1), 25 * c1, 25),
            "bn": [(jnp.ones(n), jnp.zeros(n)) for n in (49 * c4, c2, c1)],
        }
        d = {
            "conv_0": glorot(k[4], (5, 5, 1, c1), 25, 25 * c1),
            "b_0": jnp.zeros(c1),
            "conv_1": glorot(k[5], (5, 5, c1, c2), 25 * c1, 25 * c2),
            "b_1": jnp.zeros(c2),
            "dense": jnp.zeros((49 * c2, 1)),
            "b": jnp.zeros(1),
        }
        return g, d

    def leaky(x):
        return jnp.where(x > 0, x, 0.3 * x)  # Keras' default slope

    def batch_norm(x, scale_bias, axes):
        mean = jnp.mean(x, axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axes, keepdims=True)
        return (x - mean) * lax.rsqrt(var + 1e-3) * scale_bias[0] + scale_bias[1]

    def generator(g, z):
        x = leaky(batch_norm(z @ g["dense"], g["bn"][0], (0,))).reshape(-1, 7, 7, 4 * c)
        x = leaky(batch_norm(conv_t(x, g["deconv_1"], 1), g["bn"][1], (0, 1, 2)))
        x = leaky(batch_norm(conv_t(x, g["deconv_2"], 2), g["bn"][2], (0, 1, 2)))
        return jnp.tanh(conv_t(x, g["deconv_3"], 2))

    def dropout(x, key):
        return jnp.where(jax.random.bernoulli(key, 0.7, x.shape), x / 0.7, 0.0)

    def discriminator(d, x, key):
        k0, k1 = jax.random.split(key)
        x = dropout(leaky(conv(x, d["conv_0"], 2) + d["b_0"]), k0)
        x = dropout(leaky(conv(x, d["conv_1"], 2) + d["b_1"]), k1)
        return x.reshape(x.shape[0], -1) @ d["dense"] + d["b"]

    def adam(params, grads, moments, t):
        b1, b2, lr, eps = 0.9, 0.999, 1e-4, 1e-7  # Keras' Adam defaults, the tutorial's rate
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, moments[0], grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, moments[1], grads)
        step = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        params = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, (m, v)

    def step(state, images):
        g, d, mom_g, mom_d, t, key = state
        key, k_z, k_real, k_fake = jax.random.split(key, 4)
        z = jax.random.normal(k_z, (batch, Z_DIM))
        fake, g_vjp = jax.vjp(lambda g: generator(g, z), g)
        real_logits, real_vjp = jax.vjp(lambda d: discriminator(d, images, k_real), d)
        fake_logits, fake_vjp = jax.vjp(lambda d, x: discriminator(d, x, k_fake), d, fake)
        # BCE from logits: -log sigmoid(l) for "real" labels, -log(1 - sigmoid(l)) for "fake".
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

    return init_state, step


def bench_jax(c: int, batch: int, conv_impl: str, steps: int, scan: bool) -> tuple[float, float]:
    """(compile seconds, steps/s) of the plain-JAX step: a loop over the jitted step, or one
    jitted lax.scan of ``steps`` steps."""
    import jax

    init_state, step = jax_tutorial(c, batch, conv_impl)
    images = jax.random.uniform(jax.random.key(2), (batch, 28, 28, 1), minval=-1.0, maxval=1.0)
    state = init_state()
    if scan:

        def many(state, images):
            return jax.lax.scan(lambda s, _: (step(s, images), None), state, None, length=steps)[0]

        fn = jax.jit(many, donate_argnums=0)
    else:
        fn = jax.jit(step, donate_argnums=0)
    t0 = time.perf_counter()
    fn = fn.lower(state, images).compile()
    compile_s = time.perf_counter() - t0
    if not scan:  # a first call (allocation, thread start-up); a scan is timed on its first
        state = fn(state, images)
        jax.block_until_ready(state)
    t0 = time.perf_counter()
    if scan:
        state = fn(state, images)
    else:
        for _ in range(steps):
            state = fn(state, images)
    jax.block_until_ready(state)
    return compile_s, steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- the engine


def bench_engine(
    c: int, batch: int, chunk: int, reps: int, warmup: int = 1, runs: int = 1
) -> tuple[float, float, float]:
    """(compile seconds, run-steps/s, XLA's GFLOP per run-step) of ``runs`` runs (seeds)
    compiled as `ganbench run` compiles a group."""
    import tomllib

    import jax

    from ganbench.config.load import validate_document
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import Group

    text = SUITE.format(
        total=chunk * (reps + warmup), chunk=chunk, batch=batch, channels=c, runs=runs
    )
    suite = validate_document(tomllib.loads(text), path=Path("<dcgan_speed>"), text=text)
    compiled = compile_group(Group("dcgan_speed", suite.runs), devices=jax.local_devices())
    state = compiled.state
    times = []
    for _ in range(reps + warmup):  # the first ``warmup`` chunks are not timed
        t0 = time.perf_counter()
        state, stats = compiled.chunk(state, compiled.hparams, compiled.data)
        jax.block_until_ready(stats)
        times.append(time.perf_counter() - t0)
    rate = runs * chunk * reps / sum(times[warmup:])

    # Arithmetic of one engine step (one run), from XLA's cost analysis of its compiled step.
    first = jax.tree.map(lambda a: a[0], state)
    hp = compiled.hparams
    hp = hp._replace(
        **{f: jax.tree.map(lambda a: a[0], getattr(hp, f)) for f in hp._fields if f != "data"}
    )
    cost = jax.jit(compiled.program.train_step).lower(first, hp).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return compiled.compile_seconds, rate, float(cost.get("flops", float("nan"))) / 1e9


# --------------------------------------------------------------------------- TensorFlow


def bench_tf(c: int, batch: int, steps: int, xla: bool) -> tuple[float, float]:
    """(seconds to trace and run the first two steps, steps/s) of the tutorial's train_step."""
    import tensorflow as tf
    from tensorflow.keras import layers

    def make_generator():
        return tf.keras.Sequential(
            [
                layers.Input((Z_DIM,)),
                layers.Dense(7 * 7 * 4 * c, use_bias=False),
                layers.BatchNormalization(),
                layers.LeakyReLU(),
                layers.Reshape((7, 7, 4 * c)),
                layers.Conv2DTranspose(2 * c, 5, strides=1, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.LeakyReLU(),
                layers.Conv2DTranspose(c, 5, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.LeakyReLU(),
                layers.Conv2DTranspose(
                    1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
                ),
            ]
        )

    def make_discriminator():
        return tf.keras.Sequential(
            [
                layers.Input((28, 28, 1)),
                layers.Conv2D(c, 5, strides=2, padding="same"),
                layers.LeakyReLU(),
                layers.Dropout(0.3),
                layers.Conv2D(2 * c, 5, strides=2, padding="same"),
                layers.LeakyReLU(),
                layers.Dropout(0.3),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )

    generator, discriminator = make_generator(), make_discriminator()
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)

    @tf.function(jit_compile=xla)
    def train_step(images):
        noise = tf.random.normal([batch, Z_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = generator(noise, training=True)
            real = discriminator(images, training=True)
            fake = discriminator(generated, training=True)
            g_loss = bce(tf.ones_like(fake), fake)
            d_loss = bce(tf.ones_like(real), real) + bce(tf.zeros_like(fake), fake)
        g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))
        return g_loss

    images = tf.random.uniform([batch, 28, 28, 1], -1.0, 1.0)
    t0 = time.perf_counter()
    train_step(images).numpy()
    train_step(images).numpy()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = train_step(images)
    loss.numpy()
    return first, steps / (time.perf_counter() - t0)


def tf_in_child(c: int, batch: int, steps: int, xla: bool) -> tuple[float, float] | None:
    """:func:`bench_tf` in a child process of the same Python (TensorFlow's thread pools stay
    out of the JAX measurements); None, with a note, when TensorFlow cannot be imported."""
    import json
    import subprocess

    cmd = [sys.executable, __file__, "--tf-child", f"{c},{batch},{steps},{int(xla)}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"(tensorflow rows left out: {(proc.stderr.strip().splitlines() or ['?'])[-1]})")
        return None
    out = json.loads(lines[-1])
    return out["first_s"], out["rate"]


# --------------------------------------------------------------------------- per-op table


def _timer(fn, args, calls: int) -> float:
    """Seconds per call of the jitted ``fn``: its first call when that took over a second (the
    slow cases, whose first call is as slow as any), else the mean of ``calls`` more calls."""
    import jax

    compiled = jax.jit(fn).lower(*args).compile()
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    first = time.perf_counter() - t0
    if first > 1.0:
        return first
    t0 = time.perf_counter()
    for _ in range(calls):
        out = compiled(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / calls


def _in_scan(op, length: int):
    """``length`` applications of ``op`` in one lax.scan; each output is summed into the carry
    (nothing is hoisted or dropped) and the first argument moved by it."""
    import jax
    import jax.numpy as jnp

    def run(*args):
        def body(carry, _):
            out = op(args[0] + carry, *args[1:])
            return carry + 1e-30 * sum(jnp.sum(o) for o in jax.tree.leaves(out)), None

        return jax.lax.scan(body, jnp.zeros((), args[0].dtype), None, length=length)[0]

    return run


def _fwd(f, s, x, w):
    return f(x, w, s)


def _dx(f, s, x_shape, g, w):
    """The input gradient: the transpose of ``f(., w)`` applied to ``g``."""
    import jax
    import jax.numpy as jnp

    return jax.vjp(lambda v: f(v, w, s), jnp.zeros(x_shape, g.dtype))[1](g)[0]


def _dw(f, s, w_shape, x, g):
    """The kernel gradient: the transpose of ``f(x, .)`` applied to ``g``."""
    import jax
    import jax.numpy as jnp

    return jax.vjp(lambda v: f(x, v, s), jnp.zeros(w_shape, x.dtype))[1](g)[0]


def _all3(f, s, x, w, g):
    """Output, input gradient and kernel gradient."""
    import jax

    y, vjp = jax.vjp(lambda a, b: f(a, b, s), x, w)
    return (y, *vjp(g))


def tutorial_conv_seconds(c: int, batch: int, best: dict[tuple[str, str], float]) -> float:
    """Seconds of the convolutions of one tutorial train_step (as counted by
    :func:`tutorial_step_flops`) if each ran at ``best[(layer, op)]`` GFLOP/s: G's three
    forwards, D's two on each batch, the generator's path back through D on the generated batch
    (dx of both of D's layers), D's kernel gradients on both batches with conv_1's input
    gradient, and G's kernel and input gradients."""
    per = {
        name: conv_flops(kind, n // (2 if name[0] == "D" else 1), size, s, ci, co)
        for name, kind, n, size, s, ci, co in layers(c, batch)
    }
    work = {  # (layer, op) -> how many one-batch applications the step makes
        ("G deconv_1", "fwd"): 1, ("G deconv_2", "fwd"): 1, ("G deconv_3", "fwd"): 1,
        ("D conv_0", "fwd"): 2, ("D conv_1", "fwd"): 2,
        ("D conv_1", "dx"): 1 + 2, ("D conv_0", "dx"): 1,
        ("D conv_0", "dw"): 2, ("D conv_1", "dw"): 2,
        ("G deconv_1", "dx"): 1, ("G deconv_2", "dx"): 1, ("G deconv_3", "dx"): 1,
        ("G deconv_1", "dw"): 1, ("G deconv_2", "dw"): 1, ("G deconv_3", "dw"): 1,
    }  # fmt: skip
    return sum(
        times * per[layer] / (best[(layer, op)] * 1e9) for (layer, op), times in work.items()
    )


def op_table(
    c: int, batch: int, calls: int, scan_len: int, with_vmap: bool, tf_rate: float | None = None
) -> None:
    import jax
    import jax.numpy as jnp
    from jax import lax

    dn = ("NHWC", "HWIO", "NHWC")
    impls: dict = {
        "lax": (
            lambda x, w, s: lax.conv_general_dilated(x, w, (s, s), "SAME", dimension_numbers=dn),
            lambda x, w, s: lax.conv_transpose(
                x, w, (s, s), "SAME", dimension_numbers=dn, transpose_kernel=True
            ),
        ),
    }
    if HAVE_CONV:
        from ganbench.models import conv as gconv

        impls["ganbench"] = (
            lambda x, w, s: gconv.conv(x, w, s, "SAME"),
            lambda x, w, s: gconv.conv_transpose(x, w, s, "SAME"),
        )
    print(
        f"\n## Convolutions of the networks at channels {c}, batch {batch}: GFLOP/s "
        f"(one jitted call 'out', inside a lax.scan of {scan_len} 'scan'; {_load()})"
    )
    head = f"{'layer':<11} {'op':<4} {'GFLOP':>6}"
    for impl in impls:
        head += f" {impl + ' out':>13} {impl + ' scan':>13}"
    if with_vmap:
        head += "".join(f" {'vmap2 ' + impl[:3]:>10}" for impl in impls)
    print(head)
    key = jax.random.key(0)
    best: dict[tuple[str, str], float] = {}  # fastest of every form
    best_scan: dict[tuple[str, str], float] = {}  # fastest inside a lax.scan (a training loop)
    for index, (name, kind, n, size, s, cin, cout) in enumerate(layers(c, batch)):
        k1, k2, k3 = jax.random.split(jax.random.fold_in(key, index), 3)
        x = jax.random.normal(k1, (n, size, size, cin))
        w_shape = (5, 5, cin, cout) if kind == "conv" else (5, 5, cout, cin)
        w = 0.05 * jax.random.normal(k2, w_shape)
        out_size = size // s if kind == "conv" else size * s
        g = jax.random.normal(k3, (n, out_size, out_size, cout))
        flops = conv_flops(kind, n, size, s, cin, cout)
        rates: dict[tuple[str, str], tuple[float, float]] = {}
        for impl, (f_conv, f_conv_t) in impls.items():
            f = f_conv if kind == "conv" else f_conv_t

            fwd = functools.partial(_fwd, f, s)
            dx = functools.partial(_dx, f, s, x.shape)
            dw = functools.partial(_dw, f, s, w_shape)
            for op_name, op, args in (("fwd", fwd, (x, w)), ("dx", dx, (g, w)), ("dw", dw, (x, g))):
                t_out = _timer(op, args, calls)
                t_in = _timer(_in_scan(op, scan_len), args, calls) / scan_len
                rates[(op_name, impl)] = (flops / t_out / 1e9, flops / t_in / 1e9)
        vmap_rates = {}
        if with_vmap:
            xs, ws, gs = (jnp.stack([a, 1.1 * a]) for a in (x, w, g))
            for impl, (f_conv, f_conv_t) in impls.items():
                f = f_conv if kind == "conv" else f_conv_t

                all3 = jax.vmap(functools.partial(_all3, f, s))
                t = _timer(_in_scan(all3, scan_len), (xs, ws, gs), calls)
                vmap_rates[impl] = 2 * 3 * flops / (t / scan_len) / 1e9
        for op_name in ("fwd", "dx", "dw"):
            best[(name, op_name)] = max(max(rates[(op_name, impl)]) for impl in impls)
            best_scan[(name, op_name)] = max(rates[(op_name, impl)][1] for impl in impls)
            line = f"{name:<11} {op_name:<4} {flops / 1e9:>6.2f}"
            for impl in impls:
                out, ins = rates[(op_name, impl)]
                line += f" {out:>13.1f} {ins:>13.1f}"
            if with_vmap and op_name == "fwd":
                line += "".join(f" {vmap_rates[impl]:>10.1f}" for impl in impls)
            print(line, flush=True)

    for label, rates_used in (("any form", best), ("inside a lax.scan", best_scan)):
        bound = tutorial_conv_seconds(c, batch, rates_used)
        line = (
            f"the tutorial step's convolutions, each at its fastest rate {label}: "
            f"{bound * 1e3:.1f} ms per step, at most {1 / bound:.2f} steps/s"
        )
        if tf_rate:
            line += f" ({1 / bound / tf_rate:.2f}x tensorflow's whole step, {tf_rate:.2f} steps/s)"
        print(line)
    print(
        "(a bound on any JAX step built from these convolutions: dense layers, batch norm, "
        "activations and Adam are not counted)"
    )
    for m, k, n in ((2048, 2048, 2048), (12544, 6400, 128)):
        a = jax.random.normal(key, (m, k))
        b = jax.random.normal(key, (k, n))
        rate = 2 * m * k * n / _timer(jnp.matmul, (a, b), calls) / 1e9
        print(f"matmul {m}x{k} @ {k}x{n}: {rate:.1f} GFLOP/s")


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="64x256,16x64", help="channels x batch, comma-separated")
    ap.add_argument("--chunk", default="10,50", help="engine steps per chunk, one per size")
    ap.add_argument("--reps", type=int, default=2, help="timed engine chunks")
    ap.add_argument("--warmup", type=int, default=1, help="engine chunks run before timing")
    ap.add_argument(
        "--engine-runs",
        default="1",
        help="runs (seeds) per engine group, comma-separated; rows with more than one run report "
        "run-steps/s (every run's steps) in the steps/s column",
    )
    ap.add_argument("--jax-steps", default="5,100", help="timed plain-JAX/TF steps per size")
    ap.add_argument("--scan-steps", type=int, default=2, help="steps of the plain-JAX lax.scan")
    ap.add_argument("--op-sizes", default="64x256,16x64", help="channels x batch of table 2")
    ap.add_argument("--op-calls", type=int, default=3)
    ap.add_argument("--op-vmap", action="store_true", help="table 2: vmap over 2 runs")
    ap.add_argument("--only", default="steps,ops", help="steps, ops or both")
    ap.add_argument("--skip", default="", help="rows of table 1 to leave out")
    ap.add_argument("--data", default=None, help="ganbench data directory (MNIST)")
    ap.add_argument("--host-devices", type=int, default=None)
    ap.add_argument("--tf-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.tf_child:
        import json

        c, batch, steps, xla = (int(v) for v in args.tf_child.split(","))
        first, rate = bench_tf(c, batch, steps, bool(xla))
        print(json.dumps({"first_s": first, "rate": rate}))
        return
    if args.data:
        os.environ["GANBENCH_DATA"] = args.data

    from ganbench.run.devices import configure_host_devices

    configure_host_devices(args.host_devices)
    import jax

    sizes = [_size(s) for s in args.sizes.split(",") if s]
    chunks = [int(v) for v in args.chunk.split(",")]
    jax_steps = [int(v) for v in args.jax_steps.split(",")]
    engine_runs = [int(v) for v in args.engine_runs.split(",")]
    skip = set(args.skip.split(","))
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    print(
        f"# {cpu}, {os.cpu_count()} cores, jax {jax.__version__} ({jax.default_backend()}, "
        f"{len(jax.local_devices())} devices), {_load()}"
    )
    if "steps" in args.only:
        for i, (c, batch) in enumerate(sizes):
            chunk = chunks[min(i, len(chunks) - 1)]
            n_steps = jax_steps[min(i, len(jax_steps) - 1)]
            rows = []
            tut = tutorial_step_flops(c, batch) / 1e9
            for runs in engine_runs if "engine" not in skip else ():
                comp, rate, gflop = bench_engine(c, batch, chunk, args.reps, args.warmup, runs)
                name = "ganbench engine" + (f", {runs} runs" if runs > 1 else "")
                rows.append((f"{name} ({chunk}-step chunks)", comp, rate, gflop))
            for impl, label in (("lax", "lax.conv"), ("conv", "models.conv")):
                tag = "jax-lax" if impl == "lax" else "jax-conv"
                if impl == "conv" and not HAVE_CONV:
                    continue
                if tag not in skip:
                    comp, rate = bench_jax(c, batch, impl, n_steps, scan=False)
                    rows.append((f"jax, {label}, jit step", comp, rate, tut))
                if tag + "-scan" not in skip:
                    comp, rate = bench_jax(c, batch, impl, args.scan_steps, scan=True)
                    rows.append((f"jax, {label}, lax.scan", comp, rate, tut))
            tf_rate = None
            for xla in (False, True):
                if ("tf-xla" if xla else "tf") in skip:
                    continue
                result = tf_in_child(c, batch, n_steps, xla)
                if result is None:
                    break
                rows.append(("tensorflow" + (" (jit_compile)" if xla else ""), *result, tut))
                if not xla:
                    tf_rate = result[1]
            print(f"\n## channels {c}, batch {batch} ({_load()})")
            print(
                f"{'implementation':<44} {'compile s':>9} {'steps/s':>9} {'vs TF':>6} "
                f"{'GFLOP/step':>10} {'GFLOP/s':>8}"
            )
            for name, comp, rate, gflop in rows:
                vs = f"{rate / tf_rate:.2f}x" if tf_rate else "-"
                print(
                    f"{name:<44} {comp:>9.1f} {rate:>9.3f} {vs:>6} {gflop:>10.1f} "
                    f"{gflop * rate:>8.1f}",
                    flush=True,
                )
    if "ops" in args.only:
        for c, batch in (_size(s) for s in args.op_sizes.split(",") if s):
            tf = (
                None
                if "tf" in skip
                else tf_in_child(c, batch, 5 if c * batch > 4096 else 50, False)
            )
            op_table(c, batch, args.op_calls, 2, args.op_vmap, tf[1] if tf else None)
    print(f"# done, {_load()}")


if __name__ == "__main__":
    main()
