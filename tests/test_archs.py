"""The architecture registry (models/archs.py) and the resolution-generic image networks:
parameter counts and layer shapes against the papers' code, the transposed convolution with
explicit padding against JAX's own gradient of a convolution, and the settings each network
table accepts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from ganbench.config import load_suite
from ganbench.config.tables import ModelConfig
from ganbench.errors import ConfigError
from ganbench.models import ARCHS, build_discriminator, build_generator
from ganbench.models.conv import conv_transpose_padded
from ganbench.models.resnet import mean_pool, upsample


def _count(tree) -> int:
    return int(sum(leaf.size for leaf in jax.tree.leaves(tree)))


def _variables(arch: str, side: int, z_dim: int, channels: int = 3, **settings):
    cfg = ModelConfig(arch=arch, **settings)
    g = build_generator(cfg, (side, side, channels))
    d = build_discriminator(cfg, (side, side, channels))
    z = jnp.zeros((2, z_dim))
    x = jnp.zeros((2, side, side, channels))
    gv = jax.eval_shape(lambda: g.init(jax.random.key(0), z, train=False))
    dv = jax.eval_shape(lambda: d.init(jax.random.key(0), x, train=False))
    out = jax.eval_shape(lambda: g.apply(g.init(jax.random.key(0), z, train=False), z, train=False))
    logit = jax.eval_shape(lambda: d.apply(d.init(jax.random.key(0), x, train=False), x))
    return gv, dv, out.shape, logit.shape


def _shapes(tree) -> dict[str, tuple]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): tuple(leaf.shape) for path, leaf in flat
    }


# ------------------------------------------------------------------ parameter counts


def _dcgan_radford_counts(side: int, nz: int = 100, b: int = 128, c: int = 3) -> tuple[int, int]:
    """Newmu/dcgan_code (ee12b2d1), faces/train_uncond_dcgan.py, parameter by parameter, for
    L = log2(side / 4) stages: G ``gw`` (nz, 4*4*w) with w = b 2^(L-1), ``gg``/``gb`` (4*4*w)
    each, then per up stage i a (w_i, w_i / 2, 5, 5) kernel with its gain and shift, and
    ``gwx`` (b, c, 5, 5); D ``dw`` (b, c, 5, 5), per later stage a (2 w, w, 5, 5) kernel with
    gain and shift, and ``dwy`` (4*4*w, 1). No biases anywhere."""
    stages = int(np.log2(side // 4))
    top = b * 2 ** (stages - 1)
    g = nz * 16 * top + 2 * 16 * top
    width = top
    for _ in range(stages - 1):
        g += width * (width // 2) * 25 + 2 * (width // 2)
        width //= 2
    g += b * c * 25
    d = b * c * 25
    width = b
    for _ in range(stages - 1):
        d += width * 2 * width * 25 + 2 * 2 * width
        width *= 2
    d += 16 * top
    return g, d


def test_dcgan_radford_counts_match_the_authors_code():
    # The 64 x 64 faces network: gw 100 x 16384, gg + gb 2 x 16384, gw2 1024 x 512 x 25,
    # gg2 + gb2 2 x 512, gw3 512 x 256 x 25, 2 x 256, gw4 256 x 128 x 25, 2 x 128,
    # gwx 128 x 3 x 25 = 18,885,760; D dw 128 x 3 x 25, dw2 256 x 128 x 25 + 2 x 256,
    # dw3 512 x 256 x 25 + 2 x 512, dw4 1024 x 512 x 25 + 2 x 1024, dwy 16384 = 17,232,768.
    assert _dcgan_radford_counts(64) == (18_885_760, 17_232_768)
    assert _dcgan_radford_counts(32) == (4_941_952, 4_115_328)
    for side in (32, 64):
        gv, dv, out, logit = _variables("dcgan_radford", side, 100)
        assert (_count(gv["params"]), _count(dv["params"])) == _dcgan_radford_counts(side)
        assert out == (2, side, side, 3) and logit == (2, 1)
        assert "batch_stats" not in dv  # D normalises with the batch's statistics only
    # The 32 x 32 discriminator is the SVHN model's (svhn_semisup_analysis.py: 128, 256, 512
    # channels of 5 x 5 kernels, then the dense layer on 4 x 4 x 512).
    _, dv, _, _ = _variables("dcgan_radford", 32, 100)
    shapes = _shapes(dv["params"])
    assert [shapes[f"conv_{i}/kernel"] for i in range(3)] == [
        (5, 5, 3, 128),
        (5, 5, 128, 256),
        (5, 5, 256, 512),
    ]
    assert shapes["dense/kernel"] == (4 * 4 * 512, 1)
    # One channel at 32 x 32 (MNIST padded, say): only the first and last kernels change.
    gv, dv, out, _ = _variables("dcgan_radford", 32, 100, channels=1)
    assert out == (2, 32, 32, 1)
    assert (_count(gv["params"]), _count(dv["params"])) == _dcgan_radford_counts(32, c=1)


def test_sngan_cnn_counts_and_shapes_match_chainer_gan_lib():
    """pfnet-research/chainer-gan-lib (cf9efba5), common/net.py, at its defaults (ch = 512,
    n_hidden = 128, bottom_width = 4): DCGANGenerator l0 128 x 8192 + 8192, bn0 2 x 8192,
    dc1 4x4 512 -> 256 (+256), bn1 2 x 256, dc2 256 -> 128 (+128), bn2, dc3 128 -> 64 (+64),
    bn3, dc4 3x3 64 -> 3 (+3) = 3,828,739; SNDCGANDiscriminator c0_0 3x3 3 -> 64, c0_1 4x4
    64 -> 128, c1_0 3x3 128 -> 128, c1_1 4x4 128 -> 256, c2_0 3x3 256 -> 256, c2_1 4x4
    256 -> 512, c3_0 3x3 512 -> 512 (each with its bias), l4 8192 -> 1 (+1) = 5,860,865."""
    g = 128 * 8192 + 8192 + 2 * 8192
    g += 16 * 512 * 256 + 256 + 2 * 256 + 16 * 256 * 128 + 128 + 2 * 128
    g += 16 * 128 * 64 + 64 + 2 * 64 + 9 * 64 * 3 + 3
    d = sum(
        k * k * cin * cout + cout
        for k, cin, cout in (
            (3, 3, 64),
            (4, 64, 128),
            (3, 128, 128),
            (4, 128, 256),
            (3, 256, 256),
            (4, 256, 512),
            (3, 512, 512),
        )
    )
    d += 8192 + 1
    assert (g, d) == (3_828_739, 5_860_865)
    gv, dv, out, logit = _variables("sngan_cnn", 32, 128)
    assert (_count(gv["params"]), _count(dv["params"])) == (g, d)
    assert out == (2, 32, 32, 3) and logit == (2, 1)
    shapes = _shapes(gv["params"])
    assert shapes["l0/kernel"] == (128, 4 * 4 * 512)
    assert [shapes[f"dc{i}/kernel"] for i in range(1, 5)] == [
        (4, 4, 256, 512),
        (4, 4, 128, 256),
        (4, 4, 64, 128),
        (3, 3, 3, 64),
    ]
    # Every D layer is spectrally normalised: one u vector (and sigma) per layer.
    assert sum(1 for k in _shapes(dv["batch_stats"]) if k.endswith("/u")) == 8
    # STL-10's 48 x 48 (M = 6): only the dense layers grow.
    gv, dv, out, _ = _variables("sngan_cnn", 48, 128)
    assert out == (2, 48, 48, 3)
    assert _count(dv["params"]) == d - 8192 + 36 * 512


def test_resnets_match_gan_cifar_resnet_and_sngan_projection():
    """WGAN-GP (igul222/improved_wgan_training fa66c574, gan_cifar_resnet.py, DIM_G = DIM_D =
    128, unconditional): G Input 128 x 2048 + 2048; 3 up blocks of [N1 2 x 128, Conv1 3x3
    128 -> 128 (+128), N2 2 x 128, Conv2 (+128), Shortcut 1x1 (+128)] = 3 x 312,192;
    OutputN 2 x 128; Output 3x3 128 -> 3 (+3): 1,204,483. D OptimizedResBlockDisc1 3584 +
    147,584 + 512; block 2 (down) 2 x 147,584 + 16,512; blocks 3, 4 2 x 147,584 each (identity
    shortcut); Output 128 -> 1 (+1): 1,053,825.
    SN-GAN (pfnet-research/sngan_projection e84b1a5f, configs/sn_cifar10_unconditional.yml:
    G ch 256, D ch 128): the same blocks at 256 channels, 4,276,739; D as WGAN-GP's but
    l5 = SNLinear(128, 1, nobias=True): 1,053,824."""
    conv3 = lambda cin, cout: 9 * cin * cout + cout  # noqa: E731
    conv1 = lambda cin, cout: cin * cout + cout  # noqa: E731

    def g_count(w: int) -> int:
        block = 2 * (2 * w) + 2 * conv3(w, w) + conv1(w, w)
        return 128 * 16 * w + 16 * w + 3 * block + 2 * w + conv3(w, 3)

    d_count = conv3(3, 128) + conv3(128, 128) + conv1(3, 128)  # optimised block
    d_count += 2 * conv3(128, 128) + conv1(128, 128) + 2 * (2 * conv3(128, 128))
    assert (g_count(128), d_count + 129) == (1_204_483, 1_053_825)
    assert (g_count(256), d_count + 128) == (4_276_739, 1_053_824)

    gv, dv, out, logit = _variables("resnet_wgan_gp", 32, 128)
    assert (_count(gv["params"]), _count(dv["params"])) == (1_204_483, 1_053_825)
    assert out == (2, 32, 32, 3) and logit == (2, 1)
    assert "batch_stats" not in dv
    gv, dv, out, logit = _variables("resnet_sngan", 32, 128)
    assert (_count(gv["params"]), _count(dv["params"])) == (4_276_739, 1_053_824)
    shapes = _shapes(gv["params"])
    assert shapes["dense/dense/kernel"] == (128, 16 * 256)
    assert shapes["block_0/conv1/conv/kernel"] == (3, 3, 256, 256)
    assert shapes["block_0/shortcut/conv/kernel"] == (1, 1, 256, 256)
    assert shapes["out/conv/kernel"] == (3, 3, 256, 3)
    d_shapes = _shapes(dv["params"])
    assert "head/dense/bias" not in d_shapes and d_shapes["head/dense/kernel"] == (128, 1)
    # Blocks 3 and 4 keep size and channels: identity shortcuts, no 1x1 convolution.
    assert not any(k.startswith(("block_2/shortcut", "block_3/shortcut")) for k in d_shapes)
    # Every D layer is spectrally normalised: 3 + 3 + 2 + 2 convolutions and the head.
    assert sum(1 for k in _shapes(dv["batch_stats"]) if k.endswith("/u")) == 11


def test_upsampling_is_tflibs_depth_to_space_and_pooling_is_a_2x2_mean():
    """gan_cifar_resnet.py's UpsampleConv: concat([x, x, x, x], channels), depth_to_space(2):
    TensorFlow's depth_to_space puts input channel (i * 2 + j) * C + c at offset (i, j) of
    each 2 x 2 block, so four copies make a nearest-neighbour upsampling."""
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(np.float32)
    four = np.concatenate([x, x, x, x], axis=-1)
    n, h, w, c4 = four.shape
    c = c4 // 4
    d2s = np.zeros((n, 2 * h, 2 * w, c), np.float32)
    for i in range(2):
        for j in range(2):
            d2s[:, i::2, j::2, :] = four[..., (i * 2 + j) * c : (i * 2 + j + 1) * c]
    np.testing.assert_array_equal(np.asarray(upsample(jnp.asarray(x))), d2s)
    y = np.random.default_rng(1).normal(size=(2, 4, 6, 3)).astype(np.float32)
    tf_pool = (y[:, ::2, ::2] + y[:, 1::2, ::2] + y[:, ::2, 1::2] + y[:, 1::2, 1::2]) / 4.0
    np.testing.assert_allclose(np.asarray(mean_pool(jnp.asarray(y))), tf_pool, rtol=1e-6)


@pytest.mark.parametrize(
    ("kernel", "stride", "pad", "size", "out"),
    [
        (4, 2, (1, 1), 4, 8),  # Chainer Deconvolution2D(4, 2, 1): SN-GAN's standard CNN
        (5, 2, (2, 2), 4, 8),  # Theano's GradI with border_mode (2, 2): Radford's DCGAN
        (3, 1, (1, 1), 5, 5),  # the standard CNN's last 3x3 deconvolution
        (5, 2, (2, 2), 3, 6),  # an odd size
    ],
)
def test_conv_transpose_padded_is_the_gradient_of_the_convolution(kernel, stride, pad, size, out):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, size, size, 3)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(kernel, kernel, 5, 3)), jnp.float32)

    def forward(y):
        return lax.conv_general_dilated(
            y, k, (stride, stride), [pad, pad], dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    _, vjp = jax.vjp(forward, jnp.zeros((2, out, out, 5), jnp.float32))
    expected = vjp(x)[0]
    got = conv_transpose_padded(x, k, stride, [pad, pad], (out, out))
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)


def test_conv_transpose_padded_refuses_an_output_size_that_does_not_map_back():
    x = jnp.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="maps size 10 to 5, not 4"):
        conv_transpose_padded(x, jnp.zeros((4, 4, 3, 2)), 2, [(1, 1), (1, 1)], (10, 10))


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"arch": "dcgan", "width": 3}, "width is a setting of archs 'bn_mlp', 'maxout', 'mlp'"),
        ({"arch": "mlp", "widht": 3}, "unknown key 'widht'; did you mean 'width'?"),
        ({"arch": "resnet_sngan", "spectral_norm": True}, "not 'resnet_sngan'"),
        ({"arch": "linear", "weight_init": "normal:0.1"}, "not 'linear'"),
    ],
)
def test_a_network_table_takes_only_its_archs_settings(table, expected):
    with pytest.raises(ValueError, match=expected):
        ModelConfig(**table)


def test_every_arch_declares_settings_and_shapes_through_the_registry():
    for name in ARCHS.names():
        arch = ARCHS.get(name)
        assert arch.roles, name
        assert arch.module.startswith("ganbench.models."), name
        if arch.images:
            assert arch.check_shape is not None, name
    assert ARCHS.get("dcgan_radford").check_shape((32, 32, 3)) is None
    assert "not 28 x 28" in ARCHS.get("dcgan_radford").check_shape((28, 28, 1))
    assert ARCHS.get("sngan_cnn").check_shape((48, 48, 3)) is None
    assert ARCHS.get("resnet_wgan_gp").check_shape((36, 36, 3)) is not None


def test_a_setting_of_the_other_player_and_a_shape_the_network_cannot_make_are_refused(
    write_suite,
):
    path = write_suite(
        text="""
        [suite]
        name = "s"
        steps = 2
        eval_every = 1

        [defaults]
        dataset = "mnist"
        batch_size = 8
        z_dim = 8
        loss = "non_saturating"
        optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

        [[variants]]
        name = "a"
        generator = { arch = "dcgan", spectral_norm = true }
        discriminator = { arch = "dcgan_radford" }
        """
    )
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    assert (
        "generator.spectral_norm: arch 'dcgan' takes spectral_norm in its discriminator table only"
        in message
    )
    assert "discriminator.arch 'dcgan_radford' makes and judges 16, 32, 64 or 128-pixel" in message
    assert "(dataset 'mnist' holds 28 x 28 x 1 images)" in message


MNIST_RUN_IDS = {
    "mnist_dcgan.toml": [
        "41da51dca8a8", "4feea542d602", "5689e05634b1", "664c512b17f6",
        "829baeeb2a20", "abbbbb041629", "b8fe35f3057a", "bdb51dba315e",
    ],
    "stacked_mnist.toml": [
        "06cc9adc2920", "3cbad0f13b19", "49c9ae93a01a", "a9ade286ddb1",
        "d6029445e6d0", "ef3ac7f9eddb",
    ],
}  # fmt: skip
"""Run ids of the MNIST suites before architectures moved to models/archs.py (commit ae03baf)."""


@pytest.mark.parametrize("name", sorted(MNIST_RUN_IDS))
def test_mnist_run_ids_did_not_change(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "suites" / name
    assert sorted(r.run_id for r in load_suite(path).runs) == MNIST_RUN_IDS[name]
