"""The Inception-v3 of FID ("pt_inception-2015-12-05"), inference only, from a weights file the
user names: the 2048-d pool3 features behind ``fid_inception`` and ``kid_inception``, registered
as the extractor ``inception`` (:data:`INCEPTION`).

Nothing is downloaded and nothing is unpickled. The user converts pytorch-fid's weights file
(``pt_inception-2015-12-05-6726825d.pth``, released on github.com/mseitzer/pytorch-fid and
downloaded by that package on first use) once, with their own PyTorch install, to a ``.npz``
archive of plain arrays::

    import numpy, torch
    sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu")
    numpy.savez("pt_inception.npz", **{k: v.numpy() for k, v in sd.items()})

and names it (``ganbench eval --weights pt_inception.npz``, or in a suite ``[metrics]
inception_weights = "pt_inception.npz"``). ganbench reads it with ``np.load(path,
allow_pickle=False)`` and never imports torch. torch-fidelity's weights file,
``weights-inception-2015-12-05-6726825d.pth``, carries the same hash prefix in its name
(torch.hub's convention: the first digits of the file's SHA-256), and its module
(``FeatureExtractorInceptionV3``) uses the same state-dict names, so it converts the same way.

Resize modes (:data:`RESIZE_MODES`, the default first). Each is a whole protocol, from pixel
values (0..255, :func:`ganbench.extractors.base.to_pixels`) to the network's input in [-1, 1],
as its anchor computes it, with the resize of :mod:`ganbench.extractors.resize`:

- ``legacy_tensorflow`` (default): the original FID code, Heusel et al. 2017 (bioinf-jku/TTUR,
  ``fid.py``: ``get_activations`` feeds pixel values 0..255 to the graph's
  ``FID_Inception_Net/ExpandDims:0``), whose graph casts to float, resizes with TensorFlow 1's
  ``ResizeBilinear`` to 299 x 299 and subtracts 128 and multiplies by 1/128; torch-fidelity's
  ``inception-v3-compat`` reproduces it (torch_fidelity/feature_extractor_inceptionv3.py,
  ``FeatureExtractorInceptionV3.forward``: uint8 to float,
  ``interpolate_bilinear_2d_like_tensorflow1x``, ``(x - 128) / 128``). It is the default
  because it is the protocol of the code behind most published FIDs (TTUR's and the TensorFlow
  evaluations that reuse its graph, and torch-fidelity's, which matches them).
- ``pytorch_fid``: pytorch-fid (src/pytorch_fid/fid_score.py, ``ImagePathDataset`` with
  ``ToTensor()``: x / 255 in float32; src/pytorch_fid/inception.py, ``InceptionV3.forward``:
  ``F.interpolate(size=(299, 299), mode="bilinear", align_corners=False)``, then ``2 * x - 1``).
  The division by 255 is done on the host in float32, exactly as ToTensor does (XLA would
  replace it with a multiplication by the rounded reciprocal, which differs in the last bit).
- ``clean``: clean-fid's ``clean`` mode (cleanfid/resize.py, ``build_resizer("clean")`` =
  ``make_resizer("PIL", False, "bicubic", (299, 299))``: Pillow's bicubic resize with
  antialiasing of each channel as a 32-bit float image, clipped to [0, 255]). clean-fid's
  network then normalises as the TensorFlow graph does (cleanfid/inception_torchscript.py,
  ``InceptionV3W.forward`` with ``resize_inside=False``: ``x1 = x - 128``, ``x2 = x1 / 128``,
  then the layers of NVIDIA's TorchScript port of the same 2015-12-05 graph), so this mode is
  the resize of clean-fid followed by ``(x - 128) / 128``.

Images of one channel are repeated to three after the resize (the same values as resizing three
equal channels). Features are float32 (N, 2048). Images go through the network
:data:`BATCH_SIZE` at a time (pytorch-fid's default, ``--batch-size 50``), the last batch padded
with zeros, so that an image's features do not depend on how many images are evaluated with
it. The resize and the normalisation are compiled once per input shape (cheap), the network
once, at (batch, 299, 299, 3), so images of several sizes do not compile it again.

Architecture (Szegedy, Vanhoucke, Ioffe, Shlens, Wojna 2016, "Rethinking the Inception
Architecture for Computer Vision", CVPR, figures 5-7 and table 1), with the layer names, shapes
and paddings of torchvision's ``inception_v3`` (torchvision/models/inception.py, whose names the
weights file uses) and the changes of the FID network (pytorch-fid, src/pytorch_fid/inception.py:
``fid_inception_v3``, ``FIDInceptionA``, ``FIDInceptionC``, ``FIDInceptionE_1``,
``FIDInceptionE_2``; the TensorFlow graph of Heusel et al. 2017, github.com/bioinf-jku/TTUR,
that it reproduces):

- every convolution is "BasicConv": a convolution without bias, batch norm with epsilon 0.001
  (running statistics, inference mode), ReLU;
- stem: 3x3/2 32, 3x3 32, 3x3 64 (pad 1), max-pool 3x3/2, 1x1 80, 3x3 192, max-pool 3x3/2
  (299 -> 149 -> 147 -> 147 -> 73 -> 73 -> 71 -> 35);
- Mixed_5b/5c/5d (block A, 35x35; pool features 32, 64, 64): 1x1 64 | 1x1 48, 5x5 64 |
  1x1 64, 3x3 96, 3x3 96 | avg-pool 3x3, 1x1 pool features;
- Mixed_6a (block B, to 17x17): 3x3/2 384 | 1x1 64, 3x3 96, 3x3/2 96 | max-pool 3x3/2;
- Mixed_6b-6e (block C, 17x17; c7 = 128, 160, 160, 192): 1x1 192 | 1x1 c7, 1x7 c7, 7x1 192 |
  1x1 c7, 7x1 c7, 1x7 c7, 7x1 c7, 1x7 192 | avg-pool 3x3, 1x1 192;
- Mixed_7a (block D, to 8x8): 1x1 192, 3x3/2 320 | 1x1 192, 1x7 192, 7x1 192, 3x3/2 192 |
  max-pool 3x3/2;
- Mixed_7b, Mixed_7c (block E, 8x8): 1x1 320 | 1x1 384, then 1x3 384 and 3x1 384 side by side
  | 1x1 448, 3x3 384, then 1x3 384 and 3x1 384 side by side | pool 3x3, 1x1 192;
- global average pool: 2048 features (pool3). The auxiliary classifier and the final dense
  layer are not used.

The FID network differs from torchvision's ImageNet model in its weights and in its pools: the
3x3 stride-1 average pools of blocks A, C and Mixed_7b average over the window's pixels inside
the image only (padding excluded from the count, TensorFlow's "SAME" average pool), and the pool
branch of Mixed_7c is a max pool (3x3, stride 1, pad 1). The network takes images in
[-1, 1] at 299 x 299 (the resize modes above bring them there).

Convolutions sum in a different order from the references' (PyTorch's oneDNN or the TensorFlow
graph), so features equal theirs to float32 round-off, not bit for bit: ``tests/peers`` measures
the differences with the same weights (``docs/images.md`` gives the tolerances).

Weights file: every key of :func:`expected_shapes` (pytorch-fid's state-dict names, e.g.
``Conv2d_1a_3x3.conv.weight`` in PyTorch's OIHW layout, ``Conv2d_1a_3x3.bn.weight``, ``.bn.bias``,
``.bn.running_mean``, ``.bn.running_var``, ``Mixed_5b.branch1x1.conv.weight``, ...) with exactly
that shape and finite values. ``fc.*``, ``AuxLogits.*`` and ``*.num_batches_tracked`` are
ignored, as is any other key; a 1000-class ``fc.weight`` (torchvision's ImageNet
``inception_v3``, not the FID network, whose classifier has 1008 outputs) is refused.
Convolution kernels are converted from OIHW to Flax's HWIO on load. Every problem is a
:class:`~ganbench.errors.DataError` naming the file.

Parameters: 21,785,568 trainable values (convolution kernels, batch-norm scales and offsets;
running statistics not counted). torchvision documents 27,161,264 parameters for its
``inception_v3`` (``Inception_V3_Weights.IMAGENET1K_V1.meta["num_params"]``), which includes
the auxiliary classifier, 768*128 + 2*128 + 128*768*25 + 2*768 + 768*1000 + 1000 = 3,326,696,
and the 1000-class dense layer, 2048*1000 + 1000 = 2,049,000: 27,161,264 - 3,326,696 -
2,049,000 = 21,785,568. The tests check the count of :func:`expected_shapes` against it.

Cost: ``benchmarks/eval_speed.py`` measures images per second against pytorch-fid on the same
CPU (``docs/images.md``).
"""

from __future__ import annotations

import functools
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganbench.errors import DataError, OptionError
from ganbench.extractors.base import WEIGHTS_USER, Extractor, register, run_batched, to_pixels
from ganbench.extractors.resize import resize_jax

FEATURE_DIM = 2048
INPUT_SIZE = 299
BN_EPSILON = 1e-3
TRAINABLE_PARAMETERS = 21_785_568
"""torchvision's 27,161,264 minus the auxiliary classifier and the dense layer (docstring)."""

CONVERT_SNIPPET = (
    "import numpy, torch\n"
    'sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu")\n'
    'numpy.savez("pt_inception.npz", **{k: v.numpy() for k, v in sd.items()})'
)
"""How a user converts pytorch-fid's weights once with their own PyTorch (quoted in errors)."""

IGNORED_PREFIXES = ("fc.", "AuxLogits.")
IGNORED_SUFFIXES = (".num_batches_tracked",)

Variables = dict[str, Any]  # {"params": ..., "batch_stats": ...}, as Flax's ``apply`` takes them


# --------------------------------------------------------------------------------- layers


def avg_pool_exclude_pad(x: jax.Array) -> jax.Array:
    """3x3 average pool, stride 1, padding 1, dividing by the number of pixels of the window
    that lie inside the image (4 at a corner, 6 on an edge, 9 inside): TensorFlow's SAME pool and
    PyTorch's ``count_include_pad=False``."""
    return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_s2(x: jax.Array) -> jax.Array:
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")


VALID_AS_PADDED = True
"""Compute each unpadded convolution larger than 1 x 1 (the stem's, Mixed_6a's and Mixed_7a's
3 x 3 ones) with one row and one column of zeros added at the bottom and right, and keep the
outputs of the unpadded one: the same windows, so the same values. XLA:CPU (jax 0.10.2) runs a
3 x 3 convolution without padding 2 to 6 times slower than the same one with padding (on one
core: 149 x 149 x 32 -> 32, 18 against 3 ms per image; 73 x 73 x 80 -> 192, 36 against 13 ms),
which made the whole network 1.2 to 2 times slower than pytorch-fid's; ``benchmarks/eval_speed.py
--profile`` measures it. False computes them as written, for that comparison."""


class BasicConv(nn.Module):
    """Convolution without bias, batch norm (epsilon 0.001, running statistics), ReLU."""

    features: int
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: tuple[int, int] = (0, 0)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ph, pw = self.padding
        kh, kw = self.kernel
        crop = VALID_AS_PADDED and (ph, pw) == (0, 0) and (kh, kw) != (1, 1)
        y = nn.Conv(
            self.features,
            self.kernel,
            strides=(self.stride, self.stride),
            padding=((0, 1), (0, 1)) if crop else ((ph, ph), (pw, pw)),
            use_bias=False,
            name="conv",
        )(x)
        if crop:  # the unpadded convolution's outputs (VALID_AS_PADDED)
            oh = (x.shape[1] - kh) // self.stride + 1
            ow = (x.shape[2] - kw) // self.stride + 1
            y = y[:, :oh, :ow, :]
        y = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, name="bn")(y)
        return nn.relu(y)


def _cat(*branches: jax.Array) -> jax.Array:
    return jnp.concatenate(branches, axis=-1)


class BlockA(nn.Module):
    """Mixed_5b/5c/5d (35 x 35): FIDInceptionA."""

    pool_features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b1 = BasicConv(64, name="branch1x1")(x)
        b5 = BasicConv(48, name="branch5x5_1")(x)
        b5 = BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
        b3 = BasicConv(64, name="branch3x3dbl_1")(x)
        b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
        b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
        bp = BasicConv(self.pool_features, name="branch_pool")(avg_pool_exclude_pad(x))
        return _cat(b1, b5, b3, bp)


class BlockB(nn.Module):
    """Mixed_6a (35 -> 17)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = BasicConv(384, (3, 3), stride=2, name="branch3x3")(x)
        bd = BasicConv(64, name="branch3x3dbl_1")(x)
        bd = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = BasicConv(96, (3, 3), stride=2, name="branch3x3dbl_3")(bd)
        return _cat(b3, bd, _max_pool_s2(x))


class BlockC(nn.Module):
    """Mixed_6b-6e (17 x 17): FIDInceptionC with factorised 7x7 convolutions."""

    c7: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c7 = self.c7
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        b1 = BasicConv(192, name="branch1x1")(x)
        b7 = BasicConv(c7, name="branch7x7_1")(x)
        b7 = BasicConv(c7, **row, name="branch7x7_2")(b7)
        b7 = BasicConv(192, **col, name="branch7x7_3")(b7)
        bd = BasicConv(c7, name="branch7x7dbl_1")(x)
        bd = BasicConv(c7, **col, name="branch7x7dbl_2")(bd)
        bd = BasicConv(c7, **row, name="branch7x7dbl_3")(bd)
        bd = BasicConv(c7, **col, name="branch7x7dbl_4")(bd)
        bd = BasicConv(192, **row, name="branch7x7dbl_5")(bd)
        bp = BasicConv(192, name="branch_pool")(avg_pool_exclude_pad(x))
        return _cat(b1, b7, bd, bp)


class BlockD(nn.Module):
    """Mixed_7a (17 -> 8)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = BasicConv(192, name="branch3x3_1")(x)
        b3 = BasicConv(320, (3, 3), stride=2, name="branch3x3_2")(b3)
        b7 = BasicConv(192, name="branch7x7x3_1")(x)
        b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv(192, (3, 3), stride=2, name="branch7x7x3_4")(b7)
        return _cat(b3, b7, _max_pool_s2(x))


class BlockE(nn.Module):
    """Mixed_7b (``max_pool=False``: FIDInceptionE_1, average pool without padding) and Mixed_7c
    (``max_pool=True``: FIDInceptionE_2, max pool) at 8 x 8."""

    max_pool: bool

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        row, col = dict(kernel=(1, 3), padding=(0, 1)), dict(kernel=(3, 1), padding=(1, 0))
        b1 = BasicConv(320, name="branch1x1")(x)
        b3 = BasicConv(384, name="branch3x3_1")(x)
        b3 = _cat(
            BasicConv(384, **row, name="branch3x3_2a")(b3),
            BasicConv(384, **col, name="branch3x3_2b")(b3),
        )
        bd = BasicConv(448, name="branch3x3dbl_1")(x)
        bd = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = _cat(
            BasicConv(384, **row, name="branch3x3dbl_3a")(bd),
            BasicConv(384, **col, name="branch3x3dbl_3b")(bd),
        )
        if self.max_pool:
            pooled = nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))
        else:
            pooled = avg_pool_exclude_pad(x)
        bp = BasicConv(192, name="branch_pool")(pooled)
        return _cat(b1, b3, bd, bp)


class InceptionV3FID(nn.Module):
    """(N, H, W, 3) images in [-1, 1], H, W >= 75 (299 for FID) -> pool3 features (N, 2048)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = BasicConv(32, (3, 3), stride=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
        x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
        x = _max_pool_s2(x)
        x = BasicConv(80, name="Conv2d_3b_1x1")(x)
        x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
        x = _max_pool_s2(x)
        x = BlockA(32, name="Mixed_5b")(x)
        x = BlockA(64, name="Mixed_5c")(x)
        x = BlockA(64, name="Mixed_5d")(x)
        x = BlockB(name="Mixed_6a")(x)
        x = BlockC(128, name="Mixed_6b")(x)
        x = BlockC(160, name="Mixed_6c")(x)
        x = BlockC(160, name="Mixed_6d")(x)
        x = BlockC(192, name="Mixed_6e")(x)
        x = BlockD(name="Mixed_7a")(x)
        x = BlockE(max_pool=False, name="Mixed_7b")(x)
        x = BlockE(max_pool=True, name="Mixed_7c")(x)
        return jnp.mean(x, axis=(1, 2))


# --------------------------------------------------------------------------------- weights

# Flax (collection, leaf) <-> the suffix of a PyTorch state-dict key.
_TO_TORCH = {
    ("params", "kernel"): "weight",  # under "conv"
    ("params", "scale"): "weight",  # under "bn"
    ("params", "bias"): "bias",
    ("batch_stats", "mean"): "running_mean",
    ("batch_stats", "var"): "running_var",
}
_FROM_TORCH = {
    ("conv", "weight"): ("params", "kernel"),
    ("bn", "weight"): ("params", "scale"),
    ("bn", "bias"): ("params", "bias"),
    ("bn", "running_mean"): ("batch_stats", "mean"),
    ("bn", "running_var"): ("batch_stats", "var"),
}


def conv_kernel_from_oihw(weight: np.ndarray) -> np.ndarray:
    """A PyTorch convolution weight (out, in, kh, kw) as a Flax kernel (kh, kw, in, out)."""
    return np.transpose(weight, (2, 3, 1, 0))


def _walk(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()):
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _walk(value, (*prefix, key))
        else:
            yield (*prefix, key), value


@functools.cache
def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every key the weights file must hold, with its shape as PyTorch stores it (convolution
    weights OIHW), in the network's order: 94 convolutions x 5 arrays = 470 keys."""
    variables = jax.eval_shape(
        InceptionV3FID().init, jax.random.key(0), jax.ShapeDtypeStruct((1, 75, 75, 3), jnp.float32)
    )
    out: dict[str, tuple[int, ...]] = {}
    for collection in ("params", "batch_stats"):
        for path, leaf in _walk(variables[collection]):
            name = ".".join((*path[:-1], _TO_TORCH[(collection, path[-1])]))
            shape = tuple(leaf.shape)
            if path[-1] == "kernel":  # HWIO -> OIHW
                shape = (shape[3], shape[2], shape[0], shape[1])
            out[name] = shape
    # Network order (as the weights file lists them), conv then bn of each layer.
    order = {}
    for path, _ in _walk(variables["params"]):
        order.setdefault(".".join(path[:-2]), len(order))
    suffixes = ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    return {
        f"{layer}.{s}": out[f"{layer}.{s}"]
        for layer in sorted(order, key=order.__getitem__)
        for s in suffixes
    }


def trainable_count(shapes: Mapping[str, tuple[int, ...]]) -> int:
    """Convolution weights and batch-norm scales and offsets (not the running statistics)."""
    return sum(
        math.prod(shape)
        for key, shape in shapes.items()
        if key.endswith((".conv.weight", ".bn.weight", ".bn.bias"))
    )


def _ignored(key: str) -> bool:
    return key.startswith(IGNORED_PREFIXES) or key.endswith(IGNORED_SUFFIXES)


def _refuse(path: Path, what: str) -> DataError:
    return DataError(f"{path}: {what}")


def _convert_hint() -> str:
    return "convert pytorch-fid's weights once with your own PyTorch:\n    " + (
        CONVERT_SNIPPET.replace("\n", "\n    ")
    )


def _open_npz(path: Path) -> Any:
    if not path.exists():
        raise _refuse(path, f"no such Inception weights file (--weights, or [metrics] inception_weights); "
                      f"{_convert_hint()}")  # fmt: skip
    if path.is_dir():
        raise _refuse(path, "is a folder; the Inception weights are one .npz file")
    try:
        npz = np.load(path, allow_pickle=False)
    except ValueError:
        # np.load's answer to anything that is neither .npy nor a zip archive, pickles included.
        raise _refuse(
            path,
            "not an .npz archive (a pickle, such as an old-format PyTorch .pth, is never "
            f"loaded); {_convert_hint()}",
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _refuse(path, f"cannot read the Inception weights: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _refuse(path, "holds one array (.npy), not an .npz archive of named arrays")
    if any(name.endswith("data.pkl") for name in npz.files):
        npz.close()
        raise _refuse(path, f"is a PyTorch checkpoint, not an .npz of arrays; {_convert_hint()}")
    return npz


def load_inception(path: str | Path) -> tuple[Variables, dict[str, Any]]:
    """Loads and checks the FID Inception-v3 weights (module docstring) from an .npz file.

    Returns ``(variables, info)``: the Flax variables for :func:`inception_features` and
    ``{"path": absolute path, "sha256": of the file's bytes}``.

    Raises:
        DataError: missing file, not an .npz, a pickled (object) array, a missing key, a wrong
            shape, a non-float or non-finite array, torchvision's 1000-class weights.
    """
    from ganbench.data.store import sha256_file

    path = Path(path).expanduser().absolute()
    expected = expected_shapes()
    params: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    with _open_npz(path) as npz:
        files = set(npz.files)
        missing = [k for k in expected if k not in files]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            sample = sorted(k for k in files if not _ignored(k))[:3]
            holds = f"; the file's keys begin {', '.join(map(repr, sample))}" if sample else ""
            raise _refuse(
                path,
                f"missing key {missing[0]!r}{more} ({len(missing)} of the {len(expected)} keys "
                f"of pytorch-fid's Inception-v3 state dict are missing{holds}); "
                f"{_convert_hint()}",
            )
        if "fc.weight" in files:
            fc = _read(npz, "fc.weight", path)
            if fc.ndim == 2 and fc.shape[0] == 1000:
                raise _refuse(
                    path,
                    "fc.weight has 1000 classes: these are torchvision's ImageNet inception_v3 "
                    "weights, not the FID network's (pt_inception-2015-12-05, 1008 classes)",
                )
        for key, shape in expected.items():
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
            *module, layer, leaf = key.split(".")
            collection, name = _FROM_TORCH[(layer, leaf)]
            value = array.astype(np.float32)
            if name == "kernel":
                value = conv_kernel_from_oihw(value)
            node = params if collection == "params" else stats
            for part in (*module, layer):
                node = node.setdefault(part, {})
            node[name] = jnp.asarray(value)
    info = {"path": str(path), "sha256": sha256_file(path)}
    return {"params": params, "batch_stats": stats}, info


def _read(npz: Any, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except ValueError:
        raise _refuse(
            path, f"key {key!r} holds a pickled object array; refused (never unpickled)"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _refuse(path, f"cannot read key {key!r}: {exc}") from None


# --------------------------------------------------------------------------------- features

BATCH_SIZE = 50
"""Images per network call: pytorch-fid's default (src/pytorch_fid/fid_score.py, ``--batch-size
50``). The last batch is padded, so every call has this shape."""

RESIZE_MODES = ("legacy_tensorflow", "pytorch_fid", "clean")
"""The protocols from pixels to the network's input (module docstring), the default first."""

NORMALISATION = {
    "legacy_tensorflow": "(x - 128) / 128 of the resized pixel values (the TensorFlow graph)",
    "pytorch_fid": "x / 255 before the resize, 2 x - 1 after it (pytorch-fid)",
    "clean": "(x - 128) / 128 of the resized, clipped pixel values (clean-fid's network)",
}
"""What each mode does around its resize, for results and listings."""


def _host_scale(mode: str, pixels: np.ndarray) -> np.ndarray:
    """The part of a mode done on the host: pytorch-fid's ``ToTensor`` division by 255 in float32
    (exactly; XLA would multiply by the rounded reciprocal instead)."""
    if mode == "pytorch_fid":
        return pixels / np.float32(255.0)
    return pixels


@functools.partial(jax.jit, static_argnames="mode")
def _prepare(x: jax.Array, mode: str) -> jax.Array:
    """(B, H, W, 1 or 3) float32 from :func:`_host_scale` -> the network's input (B, 299, 299, 3)
    in [-1, 1]; compiled once per input shape and mode."""
    x = resize_jax(x, INPUT_SIZE, mode)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    if mode == "pytorch_fid":
        return 2.0 * x - 1.0
    return (x - 128.0) / 128.0


def preprocess(images: Any, mode: str) -> jax.Array:
    """The network's input (N, 299, 299, 3), float32 in [-1, 1], from images (N, H, W, 1 or 3)
    (uint8 pixel values or floats in [-1, 1]) by resize mode ``mode`` (module docstring).

    >>> x = preprocess(np.full((1, 299, 299, 1), 255, np.uint8), "legacy_tensorflow")
    >>> x.shape, float(x[0, 0, 0, 0])
    ((1, 299, 299, 3), 0.9921875)
    >>> float(preprocess(np.full((1, 299, 299, 3), 255, np.uint8), "pytorch_fid")[0, 0, 0, 0])
    1.0
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; known: {', '.join(RESIZE_MODES)}")
    return _prepare(_host_scale(mode, to_pixels(images)), mode)


@jax.jit
def _network(variables: Variables, x: jax.Array) -> jax.Array:
    """(B, 299, 299, 3) in [-1, 1] -> pool3 features (B, 2048); compiled once per batch size."""
    return InceptionV3FID().apply(variables, x)


def resize_to_input(x: jax.Array) -> jax.Array:
    """(B, H, W, C) -> (B, 299, 299, C) with PyTorch's bilinear resize (``pytorch_fid``'s
    resize; on values in any range, as the resize is linear)."""
    return resize_jax(x, INPUT_SIZE, "pytorch_fid")


class InceptionModel:
    """The ``inception`` extractor with its weights loaded (a
    :class:`~ganbench.extractors.base.FeatureModel`): :meth:`features` of images by one resize
    mode at a fixed batch size."""

    def __init__(
        self,
        variables: Variables,
        weights: dict[str, Any],
        resize: str = RESIZE_MODES[0],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if resize not in RESIZE_MODES:
            raise OptionError(
                "resize", f"{resize!r}: the inception extractor's modes are "
                f"{', '.join(RESIZE_MODES)}"
            )  # fmt: skip
        if batch_size < 1:
            raise OptionError("batch_size", f"{batch_size}: must be >= 1")
        self.variables = variables
        self.weights = dict(weights)
        self._resize = resize
        self.batch_size = int(batch_size)

    @property
    def extractor(self) -> Extractor:
        return INCEPTION

    @property
    def resize(self) -> str:
        return self._resize

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": INCEPTION.name,
            "resize": self._resize,
            "normalisation": NORMALISATION[self._resize],
            "input_size": INPUT_SIZE,
            "feature_dim": FEATURE_DIM,
            "batch_size": self.batch_size,
            "weights": dict(self.weights),
        }

    def features(self, images: Any) -> np.ndarray:
        """Pool3 features (N, 2048), float32, of images (N, H, W, 1 or 3): uint8 pixel values or
        floats in [-1, 1] (:func:`~ganbench.extractors.base.to_pixels`)."""
        images = np.asarray(images)
        to_pixels(images[:0])  # checks the shape and dtype before any work
        if images.shape[0] == 0:
            return np.zeros((0, FEATURE_DIM), np.float32)
        mode = self._resize

        def batch(chunk: np.ndarray) -> jax.Array:
            return _network(self.variables, preprocess(chunk, mode))

        out = run_batched(batch, images, self.batch_size)
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed(self, images: Any) -> tuple[np.ndarray, None]:
        """:meth:`features`, and no labels (not a classifier)."""
        return self.features(images), None


def load(
    weights: str | Path | None = None,
    resize: str | None = None,
    data_dir: Any = None,
    log: Any = None,
    task: Any = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> InceptionModel:
    """The ``inception`` extractor with the weights file ``weights`` (:func:`load_inception`),
    resizing with ``resize`` (default ``legacy_tensorflow``). ``data_dir`` is not used (the
    weights are the user's file), nor is ``task`` (nothing trains). ``log(message)`` is told which
    file and mode are in use.

    Raises:
        DataError: no weights file named (the message says how to convert pytorch-fid's), or a
            bad file (:func:`load_inception`).
        OptionError: ``resize`` is not one of :data:`RESIZE_MODES`.
    """
    del data_dir, task
    mode = RESIZE_MODES[0] if resize is None else resize
    if mode not in RESIZE_MODES:  # before reading a 95 MB file
        raise OptionError(
            "resize", f"{mode!r}: the inception extractor's modes are {', '.join(RESIZE_MODES)}"
        )
    if weights is None:
        raise DataError(
            "the inception extractor needs the FID Inception-v3 weights as a file you name "
            f"(--weights FILE); {_convert_hint()}"
        )
    variables, info = load_inception(weights)
    if log is not None:
        log(f"Inception-v3 (FID) weights: {info['path']} (sha256 {info['sha256']}), resize {mode}")
    return InceptionModel(variables, info, mode, batch_size)


def inception_features(params: Variables, images: Any, *, batch_size: int = 32) -> np.ndarray:
    """Pool3 features (N, 2048), float64, of float images (N, H, W, C) in [-1, 1], C = 1 or 3,
    resized as pytorch-fid does (``pytorch_fid`` mode), the evaluator of training runs' entry
    point. ``params`` are the variables :func:`load_inception` returns. Images go through the
    network ``min(batch_size, N)`` at a time, the last batch padded."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 1 or 3), got shape {images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"expected float images in [-1, 1], got {images.dtype}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = images.shape[0]
    if n == 0:
        return np.empty((0, FEATURE_DIM), np.float64)
    model = InceptionModel(params, {}, "pytorch_fid", min(batch_size, n))
    return model.features(images).astype(np.float64)


INCEPTION = register(
    Extractor(
        name="inception",
        description="the FID Inception-v3 (pt_inception-2015-12-05): 2048-d pool3 features; "
        "weights converted by the user from pytorch-fid's file",
        feature_dim=FEATURE_DIM,
        input_size=INPUT_SIZE,
        resize_modes=RESIZE_MODES,
        weights=WEIGHTS_USER,
        source="Szegedy et al. 2016, Inception-v3 (CVPR); the FID network of Heusel et al. 2017 "
        "(bioinf-jku/TTUR, graph inception-2015-12-05) as ported by pytorch-fid "
        "(mseitzer/pytorch-fid, src/pytorch_fid/inception.py, fid_inception_v3); resize modes "
        "of TTUR / torch-fidelity (legacy_tensorflow), pytorch-fid and clean-fid (clean)",
        load=load,
        weights_help="convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth once with your "
        "own PyTorch:\n" + CONVERT_SNIPPET,
        names={"fd": "fid_inception"},
    )
)
"""The registered declaration of the ``inception`` extractor."""


__all__ = [
    "BATCH_SIZE",
    "BN_EPSILON",
    "CONVERT_SNIPPET",
    "FEATURE_DIM",
    "INCEPTION",
    "INPUT_SIZE",
    "NORMALISATION",
    "RESIZE_MODES",
    "TRAINABLE_PARAMETERS",
    "VALID_AS_PADDED",
    "BasicConv",
    "InceptionModel",
    "InceptionV3FID",
    "avg_pool_exclude_pad",
    "conv_kernel_from_oihw",
    "expected_shapes",
    "inception_features",
    "load",
    "load_inception",
    "preprocess",
    "resize_to_input",
    "trainable_count",
]
