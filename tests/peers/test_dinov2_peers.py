"""DINOv2 against transformers' ``Dinov2Model`` and PyTorch's bicubic interpolation, with the
same random weights and the same images.

Each model is built by transformers with a seeded random initialisation (LayerScale, LayerNorm
and the embeddings made non-trivial so that each matters), saved as a user's checkpoint would be
(``model.safetensors`` by ``save_pretrained``, in the key names of transformers before 5, or
``pytorch_model.bin``, a ``state_dict`` in those of transformers 5), converted by
``scripts/convert_dinov2.py`` (the code a user runs), loaded by ganbench and run on the same
uint8 images. ganbench's features must equal transformers' ``pooler_output`` (the class token
after the final LayerNorm) in float32 to ``ATOL`` absolute and ``RTOL`` relative: LayerNorm
outputs are of order one, and the two compute in float32 with different summation orders
(measured differences, docs/images.md: below 1e-5).

transformers interpolates position embeddings to the output size; the original DINOv2 (and
ganbench by default) with a scale factor ``(grid + 0.1) / 37``. The models with 518-pixel
position embeddings are therefore compared with ganbench's ``interpolate_offset=0``, and the
original's interpolation is compared with PyTorch's ``F.interpolate`` directly. When the
original repository is importable (``PYTHONPATH`` holding a checkout of facebookresearch/dinov2;
not installed by ``nox -s peers``), the whole original model is compared too.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

import jax.numpy as jnp  # noqa: E402

from ganbench.extractors import base  # noqa: E402
from ganbench.extractors import dinov2 as D  # noqa: E402
from ganbench.extractors.resize import interpolation_matrix  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "convert_dinov2.py"
ATOL = 2e-5
RTOL = 1e-5
"""Float32 features (LayerNorm outputs, of order one)."""


def _convert_module():
    spec = importlib.util.spec_from_file_location("convert_dinov2", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomize(model, seed: int, layer_scale: str, embeddings: tuple[str, ...]) -> None:
    """Weights that make every part matter: matrices of scale 1 / sqrt(fan-in) (not the
    initialisation's 0.02, under which attention is nearly uniform and the image barely moves
    the class token), LayerScale factors in [0.2, 1.5], LayerNorm factors around 1, biases and
    embeddings of scale 0.1 and 0.5."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(layer_scale):
                p.copy_(0.2 + 1.3 * torch.rand(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("weight") and p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(embeddings):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def hf_model(seed: int, **config):
    """A transformers Dinov2Model with seeded random weights (:func:`randomize`)."""
    torch.manual_seed(seed)
    model = transformers.Dinov2Model(transformers.Dinov2Config(**config)).eval()
    randomize(model, seed + 1, "lambda1", ("position_embeddings", "cls_token"))
    return model


def images(n: int, size: int = 224, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def torch_features(model, pixels: np.ndarray) -> np.ndarray:
    """transformers' pooler_output of uint8 images at the network's size: /255, ImageNet
    normalisation as torchvision's Normalize computes it (float32)."""
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    mean = torch.tensor(D.MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(D.STD, dtype=torch.float32).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(pixel_values=(x - mean) / std).pooler_output.numpy()


def arch_of(config: dict, image_size: int) -> D.Architecture:
    return D.Architecture(
        "test",
        config["hidden_size"],
        config["num_hidden_layers"],
        config["num_attention_heads"],
        ffn="swiglu" if config.get("use_swiglu_ffn") else "mlp",
        pos_grid=image_size // 14,
    )


def ganbench_features(npz: Path, arch, pixels, *, offset: float, batch_size: int = 2):
    variables, info = D.load_weights(npz, arch)
    model = D.DinoV2Features(
        None, arch, variables, info, batch_size=batch_size, interpolate_offset=offset
    )
    return model.features(pixels)


def compare(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    diff = np.abs(ours.astype(np.float64) - theirs)
    print(f"\n{what}: max |diff| {diff.max():.3g}, max |theirs| {np.abs(theirs).max():.3g}")
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def save_bin(model, path: Path) -> Path:
    """A ``pytorch_model.bin``: the state dict in transformers 5's key names."""
    torch.save(model.state_dict(), path)
    return path


def save_safetensors(model, folder: Path) -> Path:
    """``save_pretrained``'s model.safetensors (the hub's key names, transformers before 5)."""
    model.save_pretrained(folder)
    return folder / "model.safetensors"


VITS = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14)


def test_vits14_at_224_without_interpolation(tmp_path):
    """Real ViT-S/14 sizes, position embeddings for 224 (16 x 16): no interpolation. Converted
    from a pytorch_model.bin by running the script as a user does."""
    model = hf_model(0, image_size=224, **VITS)
    keys = set(model.state_dict())
    assert "encoder.layer.0.attention.q_proj.weight" in keys  # transformers 5 names
    npz = tmp_path / "vits14.npz"
    source = save_bin(model, tmp_path / "pytorch_model.bin")
    subprocess.run([sys.executable, str(SCRIPT), str(source), str(npz)], check=True)
    pixels = images(5)
    ours = ganbench_features(npz, arch_of(VITS, 224), pixels, offset=D.INTERPOLATE_OFFSET)
    compare(ours, torch_features(model, pixels), "ViT-S/14 at 224")


def test_vits14_518_position_embeddings_interpolated_by_size(tmp_path):
    """Position embeddings for 518 (37 x 37) resized to 16 x 16 as transformers does (to the
    size); the checkpoint is save_pretrained's safetensors (the older key names)."""
    model = hf_model(1, image_size=518, **VITS)
    source = save_safetensors(model, tmp_path / "hf")
    npz = tmp_path / "vits14_518.npz"
    _convert_module().convert(source, npz)
    pixels = images(3, seed=1)
    ours = ganbench_features(npz, arch_of(VITS, 518), pixels, offset=0.0)
    theirs = torch_features(model, pixels)
    compare(ours, theirs, "ViT-S/14, 518 -> 224, by size")
    # The original's interpolation (scale factor with the 0.1 offset) is another function:
    default = ganbench_features(npz, arch_of(VITS, 518), pixels, offset=D.INTERPOLATE_OFFSET)
    print(f"by scale factor vs by size: max |diff| {np.abs(default - theirs).max():.3g}")
    assert np.abs(default - theirs).max() > 10 * ATOL


@pytest.mark.parametrize("save", [save_bin, save_safetensors], ids=["bin", "safetensors"])
def test_swiglu_giant_like(tmp_path, save):
    """A g/14-like network (SwiGLU, heads of 64) of reduced width and depth, 518 -> 224."""
    config = dict(
        hidden_size=192,
        num_hidden_layers=3,
        num_attention_heads=3,
        patch_size=14,
        use_swiglu_ffn=True,
        image_size=518,
    )
    model = hf_model(2, **config)
    arch = arch_of(config, 518)
    assert model.encoder.layer[0].mlp.gate_proj.weight.shape[0] == arch.ffn_hidden == 512
    source = save(model, tmp_path / ("pytorch_model.bin" if save is save_bin else "hf"))
    npz = tmp_path / "swiglu.npz"
    _convert_module().convert(source, npz)
    pixels = images(3, seed=2)
    ours = ganbench_features(npz, arch, pixels, offset=0.0)
    compare(ours, torch_features(model, pixels), f"SwiGLU ({save.__name__})")


@pytest.mark.parametrize(("m", "grid"), [(37, 16), (37, 8), (37, 20), (37, 50), (16, 37)])
def test_scale_factor_weights_are_pytorchs_bit_for_bit(m, grid):
    """interpolation_matrix's torch_bicubic weights with the original's scale factor (and by
    size) equal the weights PyTorch uses: each column of a unit matrix resized by F.interpolate
    (a second axis of size 1 with factor 1 leaves it exact)."""
    f = torch.nn.functional
    eye = torch.eye(m, dtype=torch.float32).reshape(1, m, m, 1)
    factor = (grid + D.INTERPOLATE_OFFSET) / m
    theirs = f.interpolate(eye, scale_factor=(factor, 1.0), mode="bicubic", antialias=False)
    ours = interpolation_matrix(m, grid, "torch_bicubic", scale_factor=factor)
    np.testing.assert_array_equal(ours.astype(np.float32), theirs[0, :, :, 0].numpy().T)
    theirs = f.interpolate(eye, size=(grid, 1), mode="bicubic", align_corners=False)
    ours = interpolation_matrix(m, grid, "torch_bicubic")
    np.testing.assert_array_equal(ours.astype(np.float32), theirs[0, :, :, 0].numpy().T)


def test_original_position_interpolation_equals_torch_interpolate():
    """The original's interpolate_pos_encoding: (1, 1 + 37*37, D) embeddings, the patch part
    resized with F.interpolate(mode="bicubic", scale_factor=(16.1/37, 16.1/37),
    antialias=False), the class token's kept."""
    rng = np.random.default_rng(3)
    pos = rng.standard_normal((1, 1 + 37 * 37, 24)).astype(np.float32)
    t = torch.from_numpy(pos)
    factor = (16 + D.INTERPOLATE_OFFSET) / 37
    patch = t[:, 1:].reshape(1, 37, 37, 24).permute(0, 3, 1, 2)
    patch = torch.nn.functional.interpolate(
        patch, mode="bicubic", antialias=False, scale_factor=(factor, factor)
    )
    assert patch.shape[-2:] == (16, 16)
    theirs = torch.cat([t[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, 24)], dim=1).numpy()
    ours = np.asarray(D.interpolate_pos_embed(jnp.asarray(pos), 16, 16, D.INTERPOLATE_OFFSET))
    diff = np.abs(ours - theirs).max()
    print(f"\noriginal interpolation 37 -> 16: max |diff| {diff:.3g}")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-6)


def test_original_dinov2_model_when_importable(tmp_path, monkeypatch):
    """The original DinoVisionTransformer (facebookresearch/dinov2, xFormers off) at ViT-S/14
    sizes with 518 position embeddings on 224 images (the scale-factor interpolation), its own
    state dict saved as a .pth checkpoint and converted by the script."""
    monkeypatch.setenv("XFORMERS_DISABLED", "1")
    vits = pytest.importorskip("dinov2.models.vision_transformer")
    torch.manual_seed(4)
    model = vits.vit_small(
        patch_size=14, img_size=518, init_values=1.0, block_chunks=0, interpolate_offset=0.1
    ).eval()
    randomize(model, 5, "gamma", ("pos_embed", "cls_token"))
    source = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(model.state_dict(), source)
    npz = tmp_path / "dinov2_vits14.npz"
    _convert_module().convert(source, npz)
    pixels = images(3, seed=4)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    mean = torch.tensor(D.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(D.STD).view(1, 3, 1, 1)
    with torch.no_grad():
        theirs = model((x - mean) / std).numpy()
    loaded = D.load("vits14", npz, batch_size=2)
    assert loaded.extractor is base.get_extractor("dinov2_vits14")
    compare(loaded.features(pixels), theirs, "original ViT-S/14, scale factor")


def _pil_float_bicubic(pixels: np.ndarray) -> np.ndarray:
    """dgm-eval's --clean_resize (dgm_eval/resizer.py): each channel a 32-bit float Pillow
    image, bicubic to 224 x 224, clipped to [0, 255]."""
    from PIL import Image

    out = np.empty((pixels.shape[0], 224, 224, 3), np.float32)
    for n, image in enumerate(pixels.astype(np.float32)):
        for c in range(3):
            channel = Image.fromarray(image[:, :, c], mode="F").resize((224, 224), Image.BICUBIC)
            out[n, :, :, c] = np.asarray(channel).clip(0, 255)
    return out


def test_resize_pipelines_of_dgm_eval_and_torch_fidelity(tmp_path):
    """32 x 32 images through the whole pipeline: ``clean`` equals dgm-eval's --clean_resize
    (Pillow float bicubic, /255, Normalize), ``legacy_tensorflow`` torch-fidelity's DINOv2
    preprocessing (its TF1 bilinear emulation on 0..255, then normalised by 255 * mean and
    255 * std), ``pytorch_fid`` F.interpolate(bilinear) on 0..255; the network is transformers'."""
    fidelity = pytest.importorskip("torch_fidelity.interpolate_compat_tensorflow")
    pytest.importorskip("PIL")
    config = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, image_size=224)
    model = hf_model(7, **config)
    npz = tmp_path / "small.npz"
    _convert_module().convert(save_bin(model, tmp_path / "pytorch_model.bin"), npz)
    pixels = images(3, size=32, seed=7)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).to(torch.float32)
    mean = torch.tensor(D.MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(D.STD, dtype=torch.float32).view(1, 3, 1, 1)
    clean = torch.from_numpy(_pil_float_bicubic(pixels)).permute(0, 3, 1, 2) / 255.0
    tf1 = fidelity.interpolate_bilinear_2d_like_tensorflow1x(
        x, size=(224, 224), align_corners=False
    )
    bilinear = torch.nn.functional.interpolate(
        x, size=(224, 224), mode="bilinear", align_corners=False
    )
    inputs = {
        "clean": (clean - mean) / std,
        "legacy_tensorflow": (tf1 - 255 * mean) / (255 * std),
        "pytorch_fid": (bilinear / 255.0 - mean) / std,
    }
    arch = arch_of(config, 224)
    variables, info = D.load_weights(npz, arch)
    for mode, pixel_values in inputs.items():
        with torch.no_grad():
            theirs = model(pixel_values=pixel_values).pooler_output.numpy()
        ours = D.DinoV2Features(None, arch, variables, info, resize=mode, batch_size=2)
        compare(ours.features(pixels), theirs, f"resize {mode}, 32 -> 224")


def test_vitl14_real_size(tmp_path):
    """ViT-L/14 at its real size (24 blocks of width 1024, 518 position embeddings), random
    weights, two images; the file is loaded by the registered extractor's loader."""
    config = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, patch_size=14)
    model = hf_model(6, image_size=518, **config)
    pixels = images(2, seed=6)
    theirs = torch_features(model, pixels)
    npz = tmp_path / "dinov2_vitl14.npz"
    _convert_module().convert(save_bin(model, tmp_path / "pytorch_model.bin"), npz)
    del model
    loaded = D.load("vitl14", npz, batch_size=2)
    assert loaded.info["feature_dim"] == 1024
    by_size = D.DinoV2Features(
        None, loaded.arch, loaded.variables, loaded.info["weights"], batch_size=2,
        interpolate_offset=0.0,
    )  # fmt: skip
    compare(by_size.features(pixels), theirs, "ViT-L/14")
