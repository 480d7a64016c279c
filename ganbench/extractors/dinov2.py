"""DINOv2 vision transformers (Oquab et al. 2023, "DINOv2: Learning Robust Visual Features without
Supervision", TMLR), inference only, from a weights file the user converts: the features of
FD-DINOv2 (Stein et al. 2023, "Exposing flaws of generative model evaluation metrics and their
unfair treatment of diffusion models", NeurIPS), which recommends the Fréchet distance in
DINOv2 ViT-L/14 features over Inception's.

Four extractors, one per released backbone (facebookresearch/dinov2, ``hubconf.py`` ->
``dinov2/hub/backbones.py``, ``dinov2_vit{s,b,l,g}14``; sizes from
``dinov2/models/vision_transformer.py``, ``vit_small``, ``vit_base``, ``vit_large``,
``vit_giant2``):

==================  ======  =====  =====  ================================  ===============
extractor           width   depth  heads  feed-forward                      parameters
==================  ======  =====  =====  ================================  ===============
``dinov2_vits14``   384     12     6      MLP 1536, exact GELU              22,056,192
``dinov2_vitb14``   768     12     12     MLP 3072, exact GELU              86,579,712
``dinov2_vitl14``   1024    24     16     MLP 4096, exact GELU              304,367,616
``dinov2_vitg14``   1536    40     24     SwiGLU 4096 (``swiglufused``)     1,136,479,232
==================  ======  =====  =====  ================================  ===============

(parameters: every array of the network, the unused ``mask_token`` not counted; the DINOv2
README rounds them to 21 M, 86 M, 300 M and 1,100 M; tests/test_dinov2.py derives them.)

The network (``DinoVisionTransformer`` with the hub's settings: ``img_size=518``,
``patch_size=14``, ``init_values=1.0``, ``block_chunks=0``, no register tokens,
``interpolate_antialias=False``, ``interpolate_offset=0.1``):

- patch embedding: a 14 x 14 convolution with stride 14 (``patch_embed.proj``), tokens in
  row-major order of the patch grid;
- a learned class token first, then learned position embeddings for the 518 x 518 training size
  (37 x 37 patches + 1) added to all tokens. For another grid (16 x 16 at 224 x 224) the patch
  part is resized bicubically as the original ``interpolate_pos_encoding`` does: PyTorch's
  ``F.interpolate(mode="bicubic", antialias=False)`` with ``scale_factor = (16 + 0.1) / 37``
  per axis (the "0.1 offset"; its source positions use ``1 / scale_factor``, not 37 / 16). With
  ``interpolate_offset=0`` the module interpolates to the output size instead, as the original
  does with offset 0 and as transformers' ``Dinov2Model`` does; the two differ slightly;
- pre-norm blocks: ``x + ls1 * attn(norm1(x))``, ``x + ls2 * ffn(norm2(x))``; LayerNorm with
  epsilon 1e-6; multi-head self-attention with a fused ``qkv`` projection (biased; q, k, v in
  that order, heads of 64), scaled dot products, softmax, output projection ``proj``; LayerScale
  (a learned per-channel ``gamma``); the feed-forward network is ``fc1``, GELU (the exact erf
  form, PyTorch's ``nn.GELU()`` default, not the tanh approximation), ``fc2`` with 4x hidden
  width, or for ViT-g/14 SwiGLU: ``w12`` (one projection to twice the hidden width, halves x1
  and x2), ``silu(x1) * x2``, ``w3``, with hidden width ``(int(4 * 1536 * 2 / 3) + 7) // 8 * 8 =
  4096`` (``dinov2/layers/swiglu_ffn.py``, ``SwiGLUFFNFused``);
- final LayerNorm; the feature is the normalised class token (``x_norm_clstoken``), which the
  hub model's ``forward`` returns and dgm-eval and torch-fidelity use (not L2-normalised).

Preprocessing (:class:`DinoV2Features`): pixel values in [0, 255] (:func:`base.to_pixels`), grey
repeated to RGB, resized to 224 x 224 with the resize mode (default ``clean``), divided by 255,
normalised with ImageNet's mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224,
0.225) (``dinov2/data/transforms.py``; dgm-eval ``dgm_eval/models/dinov2.py``; torch-fidelity
``feature_extractor_dinov2.py``, which subtracts 255 * mean and divides by 255 * std instead).
dgm-eval resizes PIL images with torchvision's ``Resize((224, 224), BICUBIC)`` (Pillow's
antialiased bicubic on the 8-bit image, rounding to 8 bits after each axis) or, with
``--clean_resize``, with Pillow's bicubic on float32 channels, clipped: that is ``clean``.
torch-fidelity resizes with its TensorFlow-1 bilinear emulation: ``legacy_tensorflow``.

Weights file: an ``.npz`` of plain arrays in the original checkpoint's key layout and PyTorch
shapes (``patch_embed.proj.weight`` (D, 3, 14, 14), ``cls_token`` (1, 1, D), ``pos_embed``
(1, 1370, D), ``blocks.N.norm1.weight``, ``blocks.N.attn.qkv.weight`` (3D, D),
``blocks.N.attn.proj.weight``, ``blocks.N.ls1.gamma``, ``blocks.N.mlp.fc1.weight`` or
``blocks.N.mlp.w12.weight``, ..., ``norm.weight``; ``mask_token`` ignored), made once by
``scripts/convert_dinov2.py`` from the user's own copy of the torch hub checkpoint or a Hugging
Face checkpoint. It is read with ``np.load(allow_pickle=False)``: nothing is unpickled, torch is
never imported, nothing is downloaded. Every problem is a :class:`~ganbench.errors.DataError`
naming the file; a file of another size names the extractor it fits.

Numerics: float32 throughout. Against transformers' ``Dinov2Model`` with the same random weights
the features agree to about 1e-6 relative (tests/peers/test_dinov2_peers.py; docs/images.md
gives the measured differences).
"""

from __future__ import annotations

import functools
import math
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganbench.errors import ConfigError, DataError
from ganbench.extractors import base
from ganbench.extractors.resize import interpolation_matrix, resize_jax

INPUT_SIZE = 224
"""The side of the images the network sees (dgm-eval, torch-fidelity)."""
PATCH_SIZE = 14
TRAIN_GRID = 37
"""518 // 14: the patch grid of the position embeddings (the hub models' ``img_size=518``)."""
LAYER_NORM_EPS = 1e-6
INTERPOLATE_OFFSET = 0.1
"""The original's ``interpolate_offset`` (facebookresearch/dino issue #8)."""
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RESIZE_MODES = ("clean", "legacy_tensorflow", "pytorch_fid")
"""Default first: ``clean`` is dgm-eval's ``--clean_resize`` (module docstring)."""
DEFAULT_BATCH_SIZE = 8
"""Images per network call. On a 2-core CPU ganbench embeds more images per second at 8 than at
32 (benchmarks/eval_speed_dinov2.py; docs/images.md, "DINOv2 features", Cost)."""
IGNORED_KEYS = ("mask_token",)
"""Keys of the checkpoint that inference does not use (the masked-image-modelling token)."""

Variables = dict[str, Any]  # {"params": ...}, as Flax's ``apply`` takes them


# --------------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Architecture:
    """The sizes of one DINOv2 vision transformer (the registered four in :data:`ARCHITECTURES`;
    tests use small ones)."""

    label: str
    """How the paper names it: ``ViT-L/14``."""
    embed_dim: int
    depth: int
    num_heads: int
    ffn: str = "mlp"
    """``mlp`` (fc1, exact GELU, fc2) or ``swiglu`` (w12, SiLU gate, w3)."""
    mlp_ratio: float = 4.0
    patch_size: int = PATCH_SIZE
    pos_grid: int = TRAIN_GRID
    """Side of the patch grid the position embeddings were learned for."""

    def __post_init__(self) -> None:
        if self.ffn not in ("mlp", "swiglu"):
            raise ValueError(f"ffn must be 'mlp' or 'swiglu', got {self.ffn!r}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not a multiple of {self.num_heads}")

    @property
    def ffn_hidden(self) -> int:
        """Hidden width of the feed-forward network: ``int(D * mlp_ratio)``, and for SwiGLU two
        thirds of it rounded up to a multiple of 8 (``SwiGLUFFNFused``)."""
        hidden = int(self.embed_dim * self.mlp_ratio)
        if self.ffn == "swiglu":
            hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        return hidden

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads


ARCHITECTURES: dict[str, Architecture] = {
    "vits14": Architecture("ViT-S/14", 384, 12, 6),
    "vitb14": Architecture("ViT-B/14", 768, 12, 12),
    "vitl14": Architecture("ViT-L/14", 1024, 24, 16),
    "vitg14": Architecture("ViT-g/14", 1536, 40, 24, ffn="swiglu"),
}
"""The hub backbones ``dinov2_vit*14`` (module docstring's table)."""


# --------------------------------------------------------------------------------- network


def pos_embed_grid(pos_grid: int, grid: int, offset: float) -> tuple[np.ndarray, int]:
    """The (grid, pos_grid) matrix that resizes one axis of the position embeddings, and the
    grid size PyTorch's ``F.interpolate`` gives. With ``offset`` > 0 (the original's default
    0.1) it interpolates with ``scale_factor = (grid + offset) / pos_grid``; with 0, to the
    size ``grid``. A grid equal to ``pos_grid`` needs no interpolation (the original returns
    its embeddings unchanged)."""
    if grid == pos_grid:
        return np.eye(pos_grid), grid
    if offset:
        scale_factor = float(grid + offset) / pos_grid
        out = int(pos_grid * scale_factor)
        if out != grid:
            raise ValueError(f"offset {offset} resizes {pos_grid} to {out} positions, not {grid}")
        return interpolation_matrix(pos_grid, out, "torch_bicubic", scale_factor=scale_factor), out
    return interpolation_matrix(pos_grid, grid, "torch_bicubic"), grid


def interpolate_pos_embed(pos_embed: jax.Array, grid_h: int, grid_w: int, offset: float):
    """Position embeddings (1, 1 + M*M, D) for a (grid_h, grid_w) patch grid: the class token's
    unchanged, the M x M patch part resized bicubically per axis (:func:`pos_embed_grid`)."""
    n = pos_embed.shape[1] - 1
    m = math.isqrt(n)
    if m * m != n:
        raise ValueError(f"position embeddings of {n} patches are not a square grid")
    if (grid_h, grid_w) == (m, m):
        return pos_embed
    ah, _ = pos_embed_grid(m, grid_h, offset)
    aw, _ = pos_embed_grid(m, grid_w, offset)
    patch = pos_embed[0, 1:].reshape(m, m, -1)
    hp = jax.lax.Precision.HIGHEST
    patch = jnp.einsum("oh,hwd->owd", jnp.asarray(ah, jnp.float32), patch, precision=hp)
    patch = jnp.einsum("pw,owd->opd", jnp.asarray(aw, jnp.float32), patch, precision=hp)
    return jnp.concatenate([pos_embed[:, :1], patch.reshape(1, grid_h * grid_w, -1)], axis=1)


def _layer_norm(name: str) -> nn.LayerNorm:
    # Two-pass variance (the mean subtracted first), as PyTorch's LayerNorm computes it.
    return nn.LayerNorm(epsilon=LAYER_NORM_EPS, use_fast_variance=False, name=name)


class Attention(nn.Module):
    num_heads: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, n, d = x.shape
        hd = d // self.num_heads
        qkv = nn.Dense(3 * d, name="qkv")(x).reshape(b, n, 3, self.num_heads, hd)
        scale = jnp.float32(hd**-0.5)

        def attend(qkv_one: jax.Array) -> jax.Array:  # one image: (n, 3, heads, hd)
            q, k, v = qkv_one[:, 0], qkv_one[:, 1], qkv_one[:, 2]
            weights = jax.nn.softmax(jnp.einsum("qhc,khc->hqk", q, k) * scale, axis=-1)
            return jnp.einsum("hqk,khc->qhc", weights, v)

        # One image at a time: its (heads, n, n) scores stay in the CPU's cache. On the whole
        # batch at once XLA's CPU attention ran 4x slower (benchmarks/eval_speed_dinov2.py
        # --profile; PyTorch fuses it into one kernel, scaled_dot_product_attention).
        out = jax.lax.map(attend, qkv).reshape(b, n, d)
        return nn.Dense(d, name="proj")(out)


class LayerScale(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        gamma = self.param("gamma", nn.initializers.ones, (x.shape[-1],))
        return x * gamma.reshape((1,) * (x.ndim - 1) + (-1,))


class Mlp(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(self.hidden, name="fc1")(x)
        return nn.Dense(x.shape[-1], name="fc2")(jax.nn.gelu(h, approximate=False))


class SwiGLU(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x12 = nn.Dense(2 * self.hidden, name="w12")(x)
        x1, x2 = x12[..., : self.hidden], x12[..., self.hidden :]
        return nn.Dense(x.shape[-1], name="w3")(jax.nn.silu(x1) * x2)


class Block(nn.Module):
    arch: Architecture

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ffn = Mlp if self.arch.ffn == "mlp" else SwiGLU
        y = Attention(self.arch.num_heads, name="attn")(_layer_norm("norm1")(x))
        x = x + LayerScale(name="ls1")(y)
        y = ffn(self.arch.ffn_hidden, name="mlp")(_layer_norm("norm2")(x))
        return x + LayerScale(name="ls2")(y)


class DinoVisionTransformer(nn.Module):
    """(B, H, W, 3) normalised images, H and W multiples of the patch size -> (B, D) features:
    the class token after the final LayerNorm (module docstring)."""

    arch: Architecture
    interpolate_offset: float = INTERPOLATE_OFFSET
    """The original's default 0.1; 0 interpolates the position embeddings to the grid size (as
    transformers does)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        a = self.arch
        b, h, w, _ = x.shape
        if h % a.patch_size or w % a.patch_size:
            raise ValueError(f"image size {h}x{w} is not a multiple of {a.patch_size}")
        x = nn.Conv(
            a.embed_dim,
            (a.patch_size, a.patch_size),
            strides=(a.patch_size, a.patch_size),
            padding="VALID",
            name="patch_embed_proj",
        )(x)
        x = x.reshape(b, -1, a.embed_dim)
        cls = self.param("cls_token", nn.initializers.zeros, (1, 1, a.embed_dim))
        pos = self.param("pos_embed", nn.initializers.zeros, (1, 1 + a.pos_grid**2, a.embed_dim))
        x = jnp.concatenate([jnp.broadcast_to(cls, (b, 1, a.embed_dim)), x], axis=1)
        x = x + interpolate_pos_embed(
            pos, h // a.patch_size, w // a.patch_size, self.interpolate_offset
        )
        for i in range(a.depth):
            x = Block(a, name=f"blocks_{i}")(x)
        return _layer_norm("norm")(x[:, 0])


# --------------------------------------------------------------------------------- weights


def _walk(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()):
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _walk(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def torch_key(path: tuple[str, ...]) -> str:
    """The checkpoint key of a Flax parameter path: ``('blocks_3', 'attn', 'qkv', 'kernel')``
    -> ``blocks.3.attn.qkv.weight``; ``('patch_embed_proj', 'kernel')`` ->
    ``patch_embed.proj.weight``; a LayerNorm's ``scale`` is its ``weight``."""
    *modules, leaf = path
    leaf = {"kernel": "weight", "scale": "weight"}.get(leaf, leaf)
    parts = []
    for m in modules:
        if m == "patch_embed_proj":
            parts += ["patch_embed", "proj"]
        elif m.startswith("blocks_"):
            parts += ["blocks", m.removeprefix("blocks_")]
        else:
            parts.append(m)
    return ".".join([*parts, leaf])


def _to_torch_shape(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    if path[-1] != "kernel":
        return shape
    if len(shape) == 4:  # HWIO -> OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    return (shape[1], shape[0])  # Dense (in, out) -> Linear (out, in)


def _from_torch(path: tuple[str, ...], array: np.ndarray) -> np.ndarray:
    if path[-1] != "kernel":
        return array
    if array.ndim == 4:
        return np.transpose(array, (2, 3, 1, 0))
    return np.ascontiguousarray(array.T)


@functools.cache
def _param_paths(arch: Architecture) -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    side = arch.patch_size
    variables = jax.eval_shape(
        DinoVisionTransformer(arch).init,
        jax.random.key(0),
        jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32),
    )
    return {
        torch_key(path): (path, _to_torch_shape(path, tuple(leaf.shape)))
        for path, leaf in _walk(variables["params"])
    }


def expected_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """Every key a weights file of ``arch`` holds, with its shape as PyTorch stores it."""
    return {key: shape for key, (_, shape) in _param_paths(arch).items()}


def parameter_count(arch: Architecture) -> int:
    """Number of values of every array of the network (``mask_token`` not counted)."""
    return sum(math.prod(shape) for shape in expected_shapes(arch).values())


def _refuse(path: Path, what: str) -> DataError:
    return DataError(f"{path}: {what}")


def convert_hint(name: str = "dinov2_vitl14") -> str:
    """How a user makes the weights file (quoted in errors and listings)."""
    return (
        "convert your own copy of the checkpoint once with ganbench's script (it needs torch "
        "for .pth/.bin files, only safetensors for model.safetensors): python "
        f"scripts/convert_dinov2.py {name}_pretrain.pth {name}.npz (docs/images.md, "
        '"DINOv2 features")'
    )


def _open_npz(path: Path, name: str) -> Any:
    if not path.exists():
        raise _refuse(path, f"no such DINOv2 weights file; {convert_hint(name)}")
    if path.is_dir():
        raise _refuse(path, "is a folder; the DINOv2 weights are one .npz file")
    try:
        npz = np.load(path, allow_pickle=False)
    except ValueError:
        # np.load's answer to anything that is neither .npy nor a zip archive, pickles included.
        raise _refuse(
            path,
            "not an .npz archive (a pickle, such as a PyTorch .pth checkpoint, is never loaded); "
            f"{convert_hint(name)}",
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _refuse(path, f"cannot read the DINOv2 weights: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _refuse(path, "holds one array (.npy), not an .npz archive of named arrays")
    if any(f.endswith("data.pkl") for f in npz.files):
        npz.close()
        raise _refuse(path, f"is a PyTorch checkpoint, not an .npz of arrays; {convert_hint(name)}")
    return npz


def _header(npz: Any, key: str) -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype of an array of the archive from its .npy header, before any data is
    read (so that a member declaring a huge shape is refused in bounded memory), or None when
    the header is not a version 1 or 2 header (then the read itself reports the problem)."""
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        with npz.zip.open(f"{key}.npy") as f:
            reader = readers.get(np.lib.format.read_magic(f))
            if reader is None:
                return None
            shape, _, dtype = reader(f)
    except Exception:  # a malformed member: reported when it is read
        return None
    return tuple(shape), dtype


def _read(npz: Any, key: str, path: Path) -> np.ndarray:
    header = _header(npz, key)
    if header and header[1].hasobject:
        raise _refuse(path, f"key {key!r} holds a pickled object array; refused (never unpickled)")
    try:
        return np.asarray(npz[key])
    except ValueError as exc:  # object arrays (when the header was unreadable), truncated data
        if "allow_pickle" in str(exc):
            raise _refuse(
                path, f"key {key!r} holds a pickled object array; refused (never unpickled)"
            ) from None
        raise _refuse(path, f"cannot read key {key!r}: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _refuse(path, f"cannot read key {key!r}: {exc}") from None


_BLOCK = re.compile(r"^blocks\.(\d+)\.")


def held_architecture(npz: Any, path: Path) -> dict[str, Any]:
    """What a weights archive holds, from its key names and its patch embedding: ``width``
    (output channels of ``patch_embed.proj.weight``), ``depth`` (blocks), ``ffn``,
    ``registers``."""
    files = set(npz.files)
    blocks = {int(m.group(1)) for f in files if (m := _BLOCK.match(f))}
    width = None
    if "patch_embed.proj.weight" in files:
        header = _header(npz, "patch_embed.proj.weight")
        shape = header[0] if header else _read(npz, "patch_embed.proj.weight", path).shape
        width = int(shape[0]) if len(shape) == 4 else None
    return {
        "width": width,
        "depth": max(blocks) + 1 if blocks else 0,
        "ffn": "swiglu" if any(".mlp.w12." in f for f in files) else "mlp",
        "registers": "register_tokens" in files,
    }


def _describe(held: Mapping[str, Any]) -> str:
    width = held["width"] if held["width"] is not None else "?"
    return f"width {width}, {held['depth']} blocks, {held['ffn'].upper()} feed-forward"


def _check_architecture(npz: Any, path: Path, arch: Architecture, name: str) -> None:
    files = set(npz.files)
    if any(f.startswith(("embeddings.", "encoder.layer.", "dinov2.")) for f in files):
        raise _refuse(
            path,
            "holds a Hugging Face checkpoint's key names (embeddings..., encoder.layer...), not "
            f"the original DINOv2 layout; {convert_hint(name)}",
        )
    held = held_architecture(npz, path)
    if held["registers"]:
        raise _refuse(
            path,
            "holds DINOv2 with registers (register_tokens; the dinov2_vit*14_reg backbones), "
            "which interpolate their position embeddings differently: not supported",
        )
    wanted = {"width": arch.embed_dim, "depth": arch.depth, "ffn": arch.ffn}
    if held["width"] is None or all(held[k] == v for k, v in wanted.items()):
        return  # a missing patch embedding is reported as a missing key
    for other, candidate in ARCHITECTURES.items():
        sizes = {"width": candidate.embed_dim, "depth": candidate.depth, "ffn": candidate.ffn}
        if all(held[k] == v for k, v in sizes.items()):
            raise _refuse(
                path,
                f"this file holds {candidate.label} weights ({_describe(held)}), not "
                f"{arch.label} ({_describe(wanted)}); use --extractor dinov2_{other}",
            )
    raise _refuse(
        path,
        f"holds a vision transformer of {_describe(held)}, not {arch.label} "
        f"({_describe(wanted)}) nor another DINOv2 backbone",
    )


def load_weights(
    path: str | Path, arch: Architecture, *, name: str = "dinov2_vitl14"
) -> tuple[Variables, dict[str, str]]:
    """Loads and checks DINOv2 weights of ``arch`` (module docstring) from an .npz file.

    Returns ``(variables, info)``: the Flax variables of :class:`DinoVisionTransformer` and
    :func:`base.weights_info` (absolute path and SHA-256 of the file). ``name`` is the
    extractor's, for messages.

    Raises:
        DataError: missing file, not an .npz, a pickled (object) array, weights of another
            size or with registers, Hugging Face key names, a missing or unexpected key, a wrong
            shape, a non-float or non-finite array.
    """
    path = Path(path).expanduser().absolute()
    paths = _param_paths(arch)
    params: dict[str, Any] = {}
    with _open_npz(path, name) as npz:
        _check_architecture(npz, path, arch, name)
        files = set(npz.files)
        missing = [k for k in paths if k not in files]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise _refuse(
                path,
                f"missing key {missing[0]!r}{more} ({len(missing)} of the {len(paths)} arrays of "
                f"{arch.label} are missing); {convert_hint(name)}",
            )
        unexpected = sorted(files - set(paths) - set(IGNORED_KEYS))
        if unexpected:
            more = f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""
            raise _refuse(
                path,
                f"unexpected key {unexpected[0]!r}{more}: not an array of DINOv2 {arch.label} "
                "(the original checkpoint's layout, as the PyTorch model loads it strictly)",
            )
        for key, (flax_path, shape) in paths.items():
            header = _header(npz, key)
            if header and header[0] != shape and not header[1].hasobject:  # before any data
                raise _refuse(
                    path, f"key {key!r} has shape {header[0]}, expected {shape} (PyTorch layout)"
                )
            array = _read(npz, key, path)
            if array.shape != shape:
                raise _refuse(
                    path, f"key {key!r} has shape {array.shape}, expected {shape} (PyTorch layout)"
                )
            if not np.issubdtype(array.dtype, np.floating):
                raise _refuse(path, f"key {key!r} holds {array.dtype}, expected floating point")
            if not np.all(np.isfinite(array)):
                bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
                raise _refuse(path, f"key {key!r} holds {bad} non-finite value(s)")
            node = params
            for part in flax_path[:-1]:
                node = node.setdefault(part, {})
            node[flax_path[-1]] = jnp.asarray(_from_torch(flax_path, array.astype(np.float32)))
    return {"params": params}, base.weights_info(path)


# --------------------------------------------------------------------------------- features


def preprocess(pixels: jax.Array, mode: str) -> jax.Array:
    """Pixel values (B, H, W, 1 or 3) in [0, 255] -> the network's input (B, 224, 224, 3):
    resized with ``mode``, divided by 255, normalised with ImageNet's mean and std."""
    if pixels.shape[-1] == 1:  # before the resize: a grey image gives its RGB copy's values
        pixels = jnp.repeat(pixels, 3, axis=-1)
    x = resize_jax(pixels, INPUT_SIZE, mode) / jnp.float32(255.0)
    mean = jnp.asarray(MEAN, jnp.float32).reshape(1, 1, 1, 3)
    std = jnp.asarray(STD, jnp.float32).reshape(1, 1, 1, 3)
    return (x - mean) / std


class DinoV2Features:
    """A DINOv2 extractor with its weights loaded (:class:`base.FeatureModel`): features of
    any number of images, ``batch_size`` at a time (the last batch padded), the network compiled
    once for (batch_size, 224, 224, 3), the preprocessing once per input shape."""

    def __init__(
        self,
        extractor: base.Extractor | None,
        arch: Architecture,
        variables: Variables,
        weights: Mapping[str, str],
        *,
        resize: str = RESIZE_MODES[0],
        batch_size: int = DEFAULT_BATCH_SIZE,
        interpolate_offset: float = INTERPOLATE_OFFSET,
    ) -> None:
        if resize not in RESIZE_MODES:
            raise ConfigError(
                f"resize {resize!r} is not a resize mode of DINOv2; allowed: "
                f"{', '.join(RESIZE_MODES)}"
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self._extractor = extractor
        self.arch = arch
        self.variables = variables
        self._weights = dict(weights)
        self._resize = resize
        self.batch_size = batch_size
        self.interpolate_offset = interpolate_offset
        module = DinoVisionTransformer(arch, interpolate_offset)
        self._network = jax.jit(module.apply)
        self._preprocess = jax.jit(functools.partial(preprocess, mode=resize))

    @property
    def extractor(self) -> base.Extractor | None:
        return self._extractor

    @property
    def resize(self) -> str:
        return self._resize

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": self._extractor.name if self._extractor else f"dinov2 {self.arch.label}",
            "resize": self._resize,
            "feature_dim": self.arch.embed_dim,
            "batch_size": self.batch_size,
            "weights": dict(self._weights),
            "input_size": INPUT_SIZE,
            "architecture": self.arch.label,
            "token": "normalised class token",
            "pos_embed_interpolation": (
                f"bicubic, scale factor (grid + {self.interpolate_offset}) / {self.arch.pos_grid}"
                if self.interpolate_offset
                else "bicubic to the grid size"
            ),
        }

    def _batch(self, pixels: np.ndarray) -> jax.Array:
        return self._network(self.variables, self._preprocess(pixels))

    def features(self, images: np.ndarray) -> np.ndarray:
        pixels = base.to_pixels(images)
        if pixels.shape[0] == 0:
            return np.zeros((0, self.arch.embed_dim), np.float32)
        parts = base.run_batched(self._batch, pixels, self.batch_size)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, None]:
        return self.features(images), None


def load(
    size: str,
    weights: str | Path | None = None,
    resize: str | None = None,
    data_dir: Any = None,
    log: Callable[[str], None] | None = None,
    task: Any = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DinoV2Features:
    """The extractor ``dinov2_<size>`` with the weights file ``weights`` (``Extractor.load``)."""
    del data_dir, task  # the weights are the user's file; nothing trains
    name = f"dinov2_{size}"
    extractor = base.get_extractor(name)
    arch = ARCHITECTURES[size]
    if weights is None:
        raise ConfigError(
            f"extractor {name} needs its weights file (--weights FILE); {convert_hint(name)}"
        )
    if resize is not None and resize not in RESIZE_MODES:
        raise ConfigError(
            f"resize {resize!r} is not a resize mode of {name}; allowed: {', '.join(RESIZE_MODES)}"
        )
    variables, info = load_weights(weights, arch, name=name)
    if log is not None:
        log(f"{name}: {arch.label} weights {info['path']} (sha256 {info['sha256']})")
    return DinoV2Features(
        extractor, arch, variables, info, resize=resize or RESIZE_MODES[0], batch_size=batch_size
    )


def _declare(size: str) -> base.Extractor:
    arch = ARCHITECTURES[size]
    name = f"dinov2_{size}"
    return base.register(
        base.Extractor(
            name=name,
            description=(
                f"DINOv2 {arch.label}: the {arch.embed_dim}-d normalised class token at "
                f"{INPUT_SIZE}x{INPUT_SIZE}"
                + (" (FD-DINOv2, Stein et al. 2023)" if size == "vitl14" else "")
            ),
            feature_dim=arch.embed_dim,
            input_size=INPUT_SIZE,
            resize_modes=RESIZE_MODES,
            weights=base.WEIGHTS_USER,
            source=(
                "Oquab et al. 2023, DINOv2 (facebookresearch/dinov2, hub backbone "
                f"{name}); protocol of Stein et al. 2023 (layer6ai-labs/dgm-eval)"
            ),
            load=functools.partial(load, size),
            weights_help=convert_hint(name),
        )
    )


DECLARED = {size: _declare(size) for size in ARCHITECTURES}
"""The four registered extractors by size (``dinov2_vits14`` ... ``dinov2_vitg14``)."""


__all__ = [
    "ARCHITECTURES",
    "DECLARED",
    "INPUT_SIZE",
    "INTERPOLATE_OFFSET",
    "LAYER_NORM_EPS",
    "MEAN",
    "RESIZE_MODES",
    "STD",
    "Architecture",
    "DinoV2Features",
    "DinoVisionTransformer",
    "convert_hint",
    "expected_shapes",
    "held_architecture",
    "interpolate_pos_embed",
    "load",
    "load_weights",
    "parameter_count",
    "pos_embed_grid",
    "preprocess",
    "torch_key",
]
