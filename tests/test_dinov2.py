"""DINOv2 extractors: the four architectures' sizes against the paper's, the layers against their
formulas, the position-embedding interpolation against Keys' cubic, the weights loader's refusals,
the conversion script's renaming, and batch independence. Forward passes use a tiny random
network (width 32, two blocks); the real-size forward is marked slow (and the peers tier
compares real-size networks with transformers)."""

from __future__ import annotations

import importlib.util
import math
import pickle
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

from ganbench.errors import ConfigError, DataError
from ganbench.extractors import base
from ganbench.extractors import dinov2 as D
from ganbench.extractors.resize import interpolation_matrix, resize

ROOT = Path(__file__).resolve().parents[1]
TINY = D.Architecture("tiny", embed_dim=32, depth=2, num_heads=2, pos_grid=5)
"""Two blocks of width 32 (heads of 16), position embeddings for a 5 x 5 grid (interpolated to
the 16 x 16 grid of 224 x 224 images)."""


def random_weights(arch: D.Architecture, seed: int = 0) -> dict[str, np.ndarray]:
    """Every key of ``arch`` in PyTorch layout: weights of scale 1/sqrt(fan-in), LayerNorm and
    LayerScale factors around one, biases and embeddings non-zero."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in D.expected_shapes(arch).items():
        if key.endswith(("norm1.weight", "norm2.weight", "norm.weight", "gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("weight"):
            value = rng.standard_normal(shape) / math.sqrt(math.prod(shape[1:]))
        else:
            value = 0.3 * rng.standard_normal(shape)
        out[key] = value.astype(np.float32)
    return out


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dinov2") / "tiny.npz"
    np.savez(path, **random_weights(TINY), mask_token=np.zeros((1, 32), np.float32))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_file) -> D.DinoV2Features:
    variables, info = D.load_weights(tiny_file, TINY)
    return D.DinoV2Features(None, TINY, variables, info, batch_size=3)


# ------------------------------------------------------------------------ sizes


def test_parameter_counts_are_the_papers_models():
    """Exact counts from the architecture, against these sums by hand. A block of width D with
    an MLP has two LayerNorms (4D), qkv (3D^2 + 3D), proj (D^2 + D), two LayerScales (2D) and
    fc1, fc2 (8D^2 + 5D): 12D^2 + 15D. With SwiGLU of hidden width H, w12 (2HD + 2H) and w3
    (HD + D) replace fc1 and fc2: 4D^2 + 3HD + 2H + 11D. Outside the blocks: the patch embedding
    (3 * 14 * 14 * D + D = 589D), the class token (D), the position embeddings (1370D) and the
    final LayerNorm (2D): 1962D.

    - ViT-S/14: 12 * (12 * 384^2 + 15 * 384) + 1962 * 384 = 21,302,784 + 753,408 = 22,056,192
    - ViT-B/14: 12 * (12 * 768^2 + 15 * 768) + 1962 * 768 = 85,072,896 + 1,506,816 = 86,579,712
    - ViT-L/14: 24 * (12 * 1024^2 + 15 * 1024) + 1962 * 1024 = 302,358,528 + 2,009,088
      = 304,367,616
    - ViT-g/14 (H = 4096): 40 * (4 * 1536^2 + 3 * 4096 * 1536 + 2 * 4096 + 11 * 1536)
      + 1962 * 1536 = 40 * 28,336,640 + 3,013,632 = 1,136,479,232

    The DINOv2 README (facebookresearch/dinov2, table "Pretrained models") gives 21 M, 86 M,
    300 M and 1,100 M; ViT-S/14's 22.06 M is 5 % above its 21 M (the README rounds, and not to
    the nearest million there), the others within 4 %."""
    exact = {"vits14": 22_056_192, "vitb14": 86_579_712, "vitl14": 304_367_616}
    exact["vitg14"] = 1_136_479_232
    readme = {"vits14": 21e6, "vitb14": 86e6, "vitl14": 300e6, "vitg14": 1100e6}
    for size, arch in D.ARCHITECTURES.items():
        d = arch.embed_dim
        if arch.ffn == "mlp":
            block = 12 * d * d + 15 * d
        else:
            h = arch.ffn_hidden
            block = 4 * d * d + 3 * h * d + 2 * h + 11 * d
        assert arch.depth * block + 1962 * d == exact[size]
        assert D.parameter_count(arch) == exact[size]
        assert abs(exact[size] - readme[size]) / readme[size] < 0.06


def test_architectures_are_the_hub_backbones():
    """vision_transformer.py's vit_small/base/large/giant2 (width, depth, heads), heads of 64."""
    sizes = {k: (a.embed_dim, a.depth, a.num_heads, a.ffn) for k, a in D.ARCHITECTURES.items()}
    assert sizes == {
        "vits14": (384, 12, 6, "mlp"),
        "vitb14": (768, 12, 12, "mlp"),
        "vitl14": (1024, 24, 16, "mlp"),
        "vitg14": (1536, 40, 24, "swiglu"),
    }
    assert {a.head_dim for a in D.ARCHITECTURES.values()} == {64}
    shapes = D.expected_shapes(D.ARCHITECTURES["vitg14"])
    assert shapes["patch_embed.proj.weight"] == (1536, 3, 14, 14)
    assert shapes["pos_embed"] == (1, 1 + 37 * 37, 1536)
    assert shapes["cls_token"] == (1, 1, 1536)
    assert shapes["blocks.39.attn.qkv.weight"] == (3 * 1536, 1536)
    assert shapes["blocks.39.mlp.w12.weight"] == (2 * 4096, 1536)
    assert shapes["blocks.39.mlp.w3.weight"] == (1536, 4096)
    assert "blocks.40.norm1.weight" not in shapes and "mask_token" not in shapes


def test_swiglu_hidden_size_rule():
    """(int(hidden * 2 / 3) + 7) // 8 * 8 of hidden = 4D: 6144 -> 4096 for ViT-g; 400 -> 266
    -> 272 for D = 100 (rounded up to a multiple of 8); MLPs keep 4D."""
    assert D.ARCHITECTURES["vitg14"].ffn_hidden == 4096
    assert D.Architecture("x", 100, 1, 1, ffn="swiglu").ffn_hidden == 272
    assert D.Architecture("x", 96, 1, 1, ffn="swiglu").ffn_hidden == 256
    assert D.ARCHITECTURES["vitl14"].ffn_hidden == 4096


# ------------------------------------------------------------------------ layers


def _dense(kernel, bias):
    return {"kernel": jnp.asarray(kernel, jnp.float32), "bias": jnp.asarray(bias, jnp.float32)}


def test_mlp_uses_exact_gelu():
    """fc1 = fc2 = identity: the MLP is GELU itself, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
    not the tanh approximation (which differs by up to 1e-3 on [-4, 4])."""
    x = np.linspace(-4, 4, 17, dtype=np.float32).reshape(1, 1, 17)
    eye = np.eye(17)
    params = {"fc1": _dense(eye, np.zeros(17)), "fc2": _dense(eye, np.zeros(17))}
    got = np.asarray(jax.jit(D.Mlp(17).apply)({"params": params}, jnp.asarray(x)), np.float64)[0, 0]
    x64 = x[0, 0].astype(np.float64)
    exact = 0.5 * x64 * (1 + erf(x64 / math.sqrt(2)))
    tanh = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3)))
    np.testing.assert_allclose(got, exact, atol=1e-6)
    assert np.abs(exact - tanh).max() > 1e-4


def test_swiglu_is_silu_gate_times_up_projection():
    """w12's first half gates (SiLU), its second half is multiplied, w3 projects back."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3, 8)).astype(np.float32)
    w12, b12 = rng.standard_normal((8, 2 * 16)), rng.standard_normal(2 * 16)
    w3, b3 = rng.standard_normal((16, 8)), rng.standard_normal(8)
    params = {"w12": _dense(w12, b12), "w3": _dense(w3, b3)}
    got = np.asarray(jax.jit(D.SwiGLU(16).apply)({"params": params}, jnp.asarray(x)))
    x64 = x.astype(np.float64)
    gate, up = x64 @ w12[:, :16] + b12[:16], x64 @ w12[:, 16:] + b12[16:]
    want = (gate / (1 + np.exp(-gate)) * up) @ w3 + b3
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_attention_is_scaled_dot_product_over_heads():
    """Attention against numpy: q, k, v from the fused projection in that order, heads of
    D / heads channels, softmax of q.k / sqrt(head size), heads concatenated, projected."""
    rng = np.random.default_rng(2)
    b, n, d, heads = 2, 5, 12, 3
    x = rng.standard_normal((b, n, d)).astype(np.float32)
    wqkv, bqkv = rng.standard_normal((d, 3 * d)) / 3, rng.standard_normal(3 * d)
    wo, bo = rng.standard_normal((d, d)), rng.standard_normal(d)
    params = {"qkv": _dense(wqkv, bqkv), "proj": _dense(wo, bo)}
    got = np.asarray(jax.jit(D.Attention(heads).apply)({"params": params}, jnp.asarray(x)))
    qkv = x.astype(np.float64) @ wqkv + bqkv
    q, k, v = (qkv[..., i * d : (i + 1) * d].reshape(b, n, heads, d // heads) for i in range(3))
    s = np.einsum("bqhc,bkhc->bhqk", q, k) / math.sqrt(d // heads)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    want = np.einsum("bhqk,bkhc->bqhc", w, v).reshape(b, n, d) @ wo + bo
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_torch_key_names():
    assert D.torch_key(("blocks_3", "attn", "qkv", "kernel")) == "blocks.3.attn.qkv.weight"
    assert D.torch_key(("patch_embed_proj", "kernel")) == "patch_embed.proj.weight"
    assert D.torch_key(("norm", "scale")) == "norm.weight"
    assert D.torch_key(("blocks_0", "ls2", "gamma")) == "blocks.0.ls2.gamma"
    assert D.torch_key(("pos_embed",)) == "pos_embed"


# ------------------------------------------------------------------------ positions


def _keys(s: float) -> float:
    """Keys' cubic convolution kernel with a = -0.75 (PyTorch's bicubic)."""
    a, s = -0.75, abs(s)
    if s <= 1:
        return ((a + 2) * s - (a + 3)) * s * s + 1
    if s < 2:
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    return 0.0


@pytest.mark.parametrize("offset", [0.1, 0.0])
def test_position_interpolation_weights_are_keys_cubic(offset):
    """37 -> 16: output i samples the input at (i + 0.5) * s - 0.5 with s = 37 / 16.1 (offset
    0.1, the scale factor's reciprocal) or 37 / 16 (by size), weights Keys' cubic of the
    distance to each of the 4 nearest pixels, border pixels repeated. float32 positions (as
    PyTorch computes them) move the weights by less than 1e-5 from this float64 formula."""
    m, g = 37, 16
    matrix, out = D.pos_embed_grid(m, g, offset)
    assert out == g and matrix.shape == (g, m)
    want = _keys_matrix(m, g, m / (g + offset))
    np.testing.assert_allclose(matrix, want, atol=1e-5)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)
    assert np.abs(D.pos_embed_grid(m, g, 0.1)[0] - D.pos_embed_grid(m, g, 0.0)[0]).max() > 1e-2


def _keys_matrix(m: int, g: int, scale: float) -> np.ndarray:
    want = np.zeros((g, m))
    for i in range(g):
        src = (i + 0.5) * scale - 0.5
        base_ = math.floor(src)
        for k in range(-1, 3):
            want[i, min(max(base_ + k, 0), m - 1)] += _keys(src - (base_ + k))
    return want


def test_position_interpolation_resizes_rows_and_columns_and_keeps_the_class_token():
    """Embeddings that vary along the grid's rows only (channel 0), its columns only (channel
    1), or both (channel 2: row * column), stored row-major as the patches are: the result is
    the Keys-cubic matrix applied to each axis (float64 formula, 37 -> 16 with s = 37 / 16.1),
    and the class token is kept."""
    m, g = 37, 16
    rows, cols = np.meshgrid(np.arange(m, dtype=np.float64), np.arange(m), indexing="ij")
    patch = np.stack([rows, cols, rows * cols / m], axis=-1)
    cls = np.array([[[7.0, 8.0, 9.0]]])
    pos = np.concatenate([cls, patch.reshape(1, m * m, 3)], axis=1).astype(np.float32)
    got = np.asarray(D.interpolate_pos_embed(jnp.asarray(pos), g, g, 0.1))
    assert got.shape == (1, 1 + g * g, 3)
    np.testing.assert_array_equal(got[0, 0], cls[0, 0])
    a = _keys_matrix(m, g, m / (g + 0.1))
    want = np.einsum("oh,hwc,pw->opc", a, patch, a)
    np.testing.assert_allclose(got[0, 1:].reshape(g, g, 3), want, atol=5e-4)
    line = a @ np.arange(m)
    np.testing.assert_allclose(got[0, 1:].reshape(g, g, 3)[:, 5, 0], line, atol=5e-4)
    np.testing.assert_allclose(got[0, 1:].reshape(g, g, 3)[5, :, 1], line, atol=5e-4)


def test_position_embeddings_at_the_training_grid_are_unchanged():
    pos = jnp.arange(1 * 10 * 2, dtype=jnp.float32).reshape(1, 10, 2)
    assert D.interpolate_pos_embed(pos, 3, 3, 0.1) is pos
    np.testing.assert_array_equal(D.pos_embed_grid(37, 37, 0.1)[0], np.eye(37))


def test_torch_bicubic_scale_factor_sets_the_output_size():
    assert interpolation_matrix(37, 16, "torch_bicubic", scale_factor=16.1 / 37).shape == (16, 37)
    with pytest.raises(ValueError, match="not 17"):
        interpolation_matrix(37, 17, "torch_bicubic", scale_factor=16.1 / 37)


# ------------------------------------------------------------------------ features


def test_preprocess_is_resize_then_imagenet_normalisation():
    rng = np.random.default_rng(3)
    pixels = rng.uniform(0, 255, (2, 32, 40, 3)).astype(np.float32)
    mean, std = np.array(D.MEAN), np.array(D.STD)
    for mode in D.RESIZE_MODES:
        got = np.asarray(D.preprocess(jnp.asarray(pixels), mode))
        want = (resize(pixels, 224, mode).astype(np.float64) / 255 - mean) / std
        assert got.shape == (2, 224, 224, 3)
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_features_shape_batch_independence_and_grey(tiny):
    """(N, D) float32; one image's features do not depend on the others in its batch or on N
    (fixed batch size 3, the last batch padded): bit-identical; grey images are RGB images with
    three equal channels."""
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    feats = tiny.features(images)
    assert feats.shape == (5, 32) and feats.dtype == np.float32
    assert np.all(np.isfinite(feats)) and np.abs(feats - feats[0]).max() > 1e-3
    for i in range(5):
        np.testing.assert_array_equal(tiny.features(images[i : i + 1])[0], feats[i])
    np.testing.assert_array_equal(tiny.features(images[::-1])[::-1], feats)
    np.testing.assert_array_equal(tiny.features(np.repeat(images, 3, axis=-1)), feats)
    floats = images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    np.testing.assert_allclose(tiny.features(floats), feats, atol=1e-4)
    assert tiny.features(images[:0]).shape == (0, 32)
    assert tiny.embed(images[:2])[1] is None


def test_features_equal_the_network_on_preprocessed_images(tiny_file):
    """The pipeline is preprocess (the resize mode asked for) then the network at 224."""
    rng = np.random.default_rng(5)
    images = rng.uniform(-1, 1, (2, 50, 50, 3)).astype(np.float32)  # a generator's range
    variables, info = D.load_weights(tiny_file, TINY)
    model = D.DinoV2Features(None, TINY, variables, info, resize="legacy_tensorflow", batch_size=2)
    x = D.preprocess(jnp.asarray((images + 1) * 127.5), "legacy_tensorflow")
    want = jax.jit(D.DinoVisionTransformer(TINY).apply)(variables, x)  # one program
    np.testing.assert_allclose(model.features(images), np.asarray(want), atol=1e-5)
    assert model.info["resize"] == "legacy_tensorflow"
    assert model.info["weights"]["sha256"] == info["sha256"]


def test_network_output_is_a_layer_normed_class_token(tiny):
    """The final LayerNorm's output before its affine part has mean 0 and variance 1: undo the
    norm's scale and bias and check."""
    x = jnp.zeros((1, 28, 28, 3), jnp.float32) + 0.3
    out = jax.jit(D.DinoVisionTransformer(TINY).apply)(tiny.variables, x)
    out = np.asarray(out, np.float64)[0]
    norm = tiny.variables["params"]["norm"]
    z = (out - np.asarray(norm["bias"])) / np.asarray(norm["scale"])
    assert abs(z.mean()) < 1e-5 and abs(z.var() - 1) < 1e-3


# ------------------------------------------------------------------------ registry


def test_four_extractors_are_registered():
    for size, dim in [("vits14", 384), ("vitb14", 768), ("vitl14", 1024), ("vitg14", 1536)]:
        e = base.get_extractor(f"dinov2_{size}")
        assert e.feature_dim == dim and e.input_size == 224
        assert e.resize_modes == ("clean", "legacy_tensorflow", "pytorch_fid")
        assert e.weights == base.WEIGHTS_USER and "convert_dinov2.py" in e.weights_help
        assert e.metric_name("fd") == f"fd_dinov2_{size}"
        assert e.metric_name("kid_std") == f"kid_dinov2_{size}_std"
    assert "dinov2_vitl14" in base.extractor_names()


def test_load_needs_weights_and_a_known_resize(tmp_path):
    e = base.get_extractor("dinov2_vitl14")
    with pytest.raises(ConfigError, match="needs its weights file"):
        e.load()
    with pytest.raises(ConfigError, match="allowed: clean, legacy_tensorflow, pytorch_fid"):
        e.load(tmp_path / "x.npz", resize="bilinear")


# ------------------------------------------------------------------------ weights files


def _error(path: Path, arch: D.Architecture = TINY) -> str:
    with pytest.raises(DataError) as info:
        D.load_weights(path, arch)
    assert info.value.exit_code == 2
    assert str(path) in str(info.value)
    return str(info.value)


def _save(tmp_path: Path, **replace) -> Path:
    arrays = random_weights(TINY)
    arrays.update(replace)
    path = tmp_path / "w.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_missing_file_and_folder(tmp_path):
    assert "no such DINOv2 weights file" in _error(tmp_path / "nope.npz")
    assert "convert_dinov2.py" in _error(tmp_path / "nope.npz")
    assert "is a folder" in _error(tmp_path)


def test_missing_key_is_named_and_counted(tmp_path):
    path = _save(tmp_path, **{"blocks.1.ls2.gamma": None, "norm.bias": None})
    message = _error(path)
    assert "missing key" in message and "and 1 more" in message
    assert "2 of the 34 arrays" in message


def test_unexpected_key_is_refused(tmp_path):
    message = _error(_save(tmp_path, **{"head.weight": np.zeros((3, 32), np.float32)}))
    assert "unexpected key 'head.weight'" in message


def test_wrong_shape_names_key_expected_and_got(tmp_path):
    message = _error(_save(tmp_path, **{"blocks.0.attn.qkv.weight": np.zeros((96, 31))}))
    assert "'blocks.0.attn.qkv.weight'" in message
    assert "(96, 31)" in message and "(96, 32)" in message


def test_a_huge_declared_shape_is_refused_before_its_data_is_read(tmp_path):
    """A member whose .npy header declares 10^6 x 10^6 floats (4 TB) and holds no data: refused
    from its header, in bounded memory."""
    import io

    path = _save(tmp_path, **{"blocks.0.attn.qkv.weight": None})
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("blocks.0.attn.qkv.weight.npy", header.getvalue())  # magic, header, no data
    message = _error(path)
    assert "(1000000, 1000000)" in message and "expected (96, 32)" in message


def test_non_finite_and_non_float(tmp_path):
    bad = random_weights(TINY)["blocks.0.mlp.fc1.weight"].copy()
    bad[3, 4] = np.nan
    assert "1 non-finite value" in _error(_save(tmp_path, **{"blocks.0.mlp.fc1.weight": bad}))
    ints = np.zeros((32,), np.int64)
    assert "expected floating point" in _error(_save(tmp_path, **{"norm.bias": ints}))


def test_object_array_is_refused_not_unpickled(tmp_path):
    obj = np.empty(1, dtype=object)
    obj[0] = {"anything": 1}
    assert "pickled object array" in _error(_save(tmp_path, **{"norm.bias": obj}))


class _Tripwire:
    """Unpickling it writes a file: the test shows it is never unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (self.target, "unpickled"))


def test_pickle_and_pytorch_checkpoints_are_refused_not_loaded(tmp_path):
    tripwire = tmp_path / "tripwire"
    path = tmp_path / "dinov2_vitl14_pretrain.pth"
    path.write_bytes(pickle.dumps({"cls_token": _Tripwire(tripwire)}))
    message = _error(path)
    assert "not an .npz archive" in message and "convert_dinov2.py" in message
    assert not tripwire.exists()
    pth = tmp_path / "new_format.pth"
    with zipfile.ZipFile(pth, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    assert "PyTorch checkpoint" in _error(pth)
    np.save(tmp_path / "one.npy", np.zeros(3))
    assert "one array (.npy)" in _error(tmp_path / "one.npy")


def _placeholder_file(tmp_path: Path, width: int, depth: int, ffn: str = "mlp", **extra) -> Path:
    """The keys of a backbone with placeholder arrays (only the patch embedding's shape and
    the block indices identify it), so that no real-size file is written."""
    arrays = {"patch_embed.proj.weight": np.zeros((width, 3, 14, 14), np.float32)}
    for i in range(depth):
        arrays[f"blocks.{i}.norm1.weight"] = np.zeros(1, np.float32)
        arrays[f"blocks.{i}.mlp.{'w12' if ffn == 'swiglu' else 'fc1'}.weight"] = np.zeros(1)
    arrays.update(extra)
    path = tmp_path / f"w{width}_{depth}.npz"
    np.savez(path, **arrays)
    return path


def test_weights_of_another_size_name_their_extractor(tmp_path):
    vitl = D.ARCHITECTURES["vitl14"]
    message = _error(_placeholder_file(tmp_path, 768, 12), vitl)
    assert "this file holds ViT-B/14 weights" in message
    assert "use --extractor dinov2_vitb14" in message
    message = _error(_placeholder_file(tmp_path, 1536, 40, "swiglu"), vitl)
    assert "ViT-g/14" in message and "dinov2_vitg14" in message
    message = _error(_placeholder_file(tmp_path, 640, 7), vitl)
    assert "width 640, 7 blocks" in message and "nor another DINOv2 backbone" in message


def test_registers_and_hugging_face_names_are_refused(tmp_path):
    path = _placeholder_file(tmp_path, 1024, 24, register_tokens=np.zeros((1, 4, 1024)))
    assert "with registers" in _error(path, D.ARCHITECTURES["vitl14"])
    hf = tmp_path / "hf.npz"
    np.savez(hf, **{"embeddings.cls_token": np.zeros((1, 1, 32), np.float32)})
    assert "Hugging Face" in _error(hf)


# ------------------------------------------------------------------------ conversion script


def _script():
    spec = importlib.util.spec_from_file_location("convert_dinov2", ROOT / "scripts" /
                                                  "convert_dinov2.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hugging_face(original: dict[str, np.ndarray], new_names: bool) -> dict[str, np.ndarray]:
    """A transformers state dict, spelled out by hand from the original's arrays."""
    hf = {
        "embeddings.cls_token": original["cls_token"],
        "embeddings.mask_token": np.zeros((1, 32), np.float32),
        "embeddings.position_embeddings": original["pos_embed"],
        "embeddings.patch_embeddings.projection.weight": original["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": original["patch_embed.proj.bias"],
        "layernorm.weight": original["norm.weight"],
        "layernorm.bias": original["norm.bias"],
    }
    for i in range(TINY.depth):
        o, h = f"blocks.{i}.", f"encoder.layer.{i}."
        for leaf in ("weight", "bias"):
            qkv = np.split(original[f"{o}attn.qkv.{leaf}"], 3)
            names = ("q_proj", "k_proj", "v_proj") if new_names else (
                "attention.query", "attention.key", "attention.value")  # fmt: skip
            for name, part in zip(names, qkv, strict=True):
                hf[f"{h}attention.{name}.{leaf}"] = part
            out = "attention.o_proj" if new_names else "attention.output.dense"
            hf[f"{h}{out}.{leaf}"] = original[f"{o}attn.proj.{leaf}"]
            for norm in ("norm1", "norm2"):
                hf[f"{h}{norm}.{leaf}"] = original[f"{o}{norm}.{leaf}"]
            for fc in ("fc1", "fc2"):
                hf[f"{h}mlp.{fc}.{leaf}"] = original[f"{o}mlp.{fc}.{leaf}"]
        hf[f"{h}layer_scale1.lambda1"] = original[f"{o}ls1.gamma"]
        hf[f"{h}layer_scale2.lambda1"] = original[f"{o}ls2.gamma"]
    return hf


@pytest.mark.parametrize("new_names", [False, True], ids=["transformers<5", "transformers>=5"])
def test_conversion_of_hugging_face_names(tmp_path, new_names):
    """q, k, v stacked in that order into qkv, every other array renamed; the result loads."""
    original = random_weights(TINY)
    converted = _script().from_hugging_face(_hugging_face(original, new_names))
    assert set(converted) == set(original) | {"mask_token"}
    for key, value in original.items():
        np.testing.assert_array_equal(converted[key], value, err_msg=key)
    np.savez(tmp_path / "c.npz", **converted)
    D.load_weights(tmp_path / "c.npz", TINY)


def test_conversion_of_swiglu_and_classifier_checkpoints():
    """gate_proj and up_proj (transformers 5) stack into w12 (gate first, as the original's
    x12.chunk(2) takes x1 for the SiLU); weights_in is w12 itself; a ``dinov2.`` prefix and the
    classifier of Dinov2ForImageClassification are dropped; an unknown key stops the script."""
    script = _script()
    gate, up = np.full((4, 2), 1.0), np.full((4, 2), 2.0)
    out = script.from_hugging_face({
        "dinov2.encoder.layer.0.mlp.gate_proj.weight": gate,
        "dinov2.encoder.layer.0.mlp.up_proj.weight": up,
        "dinov2.encoder.layer.0.mlp.down_proj.bias": np.zeros(2),
        "encoder.layer.1.mlp.weights_in.weight": np.ones((8, 2)),
        "classifier.weight": np.zeros((10, 4)),
    })  # fmt: skip
    np.testing.assert_array_equal(out["blocks.0.mlp.w12.weight"], np.concatenate([gate, up]))
    assert set(out) == {"blocks.0.mlp.w12.weight", "blocks.0.mlp.w3.bias",
                        "blocks.1.mlp.w12.weight"}  # fmt: skip
    with pytest.raises(
        SystemExit, match=r"unknown key 'encoder\.layer\.0\.attention\.rope\.weight'"
    ):
        script.from_hugging_face({"encoder.layer.0.attention.rope.weight": np.zeros(1)})


# ------------------------------------------------------------------------ real size


@pytest.mark.slow
def test_vits14_real_size_through_the_registered_loader(tmp_path):
    """ViT-S/14 at its real size with random weights (an 88 MB file), three images of 32 x 32:
    finite 384-d features, independent of their batch."""
    path = tmp_path / "dinov2_vits14.npz"
    np.savez(path, **random_weights(D.ARCHITECTURES["vits14"]))
    model = base.get_extractor("dinov2_vits14").load(path, batch_size=2)
    images = np.random.default_rng(6).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    feats = model.features(images)
    assert feats.shape == (3, 384) and np.all(np.isfinite(feats))
    np.testing.assert_array_equal(model.features(images[2:]), feats[2:])
    assert model.info["feature_dim"] == 384 and model.info["architecture"] == "ViT-S/14"
