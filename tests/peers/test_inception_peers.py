"""The ``inception`` extractor against pytorch-fid's and torch-fidelity's own networks and
statistics, with the same (random) weights, on the same PNG files, and its ``clean`` mode
against clean-fid's resize and normalisation.

Nothing is downloaded. pytorch-fid's ``fid_inception_v3()`` fetches its weights with
``load_state_dict_from_url``; here that function returns a random state dict instead, so the
network under test is pytorch-fid's own ``InceptionV3([3])`` with its own resize and
normalisation. Random weights alone would give features that shrink towards zero through 94
layers; the batch-norm running statistics are calibrated instead (forward passes in training
mode, cumulative averages, on random images), so every layer's output is of order one, as with
the real weights. The scales and offsets of the batch norms are random too, so a weight swapped
in the conversion would show. The state dict is saved as pytorch-fid's ``.pth`` file, converted
with the exact snippet the documentation gives (:data:`ganbench.extractors.inception.
CONVERT_SNIPPET`), loaded by ganbench, and given to torch-fidelity's ``inception-v3-compat`` as
its ``feature_extractor_weights_path``.

Tolerances (the maxima measured on a 2-core x86-64 CPU with torch 2.14.1 are in brackets):

- features (float32, values of order 0.1 to 10): both sides compute in float32 and sum each
  convolution's 27 to 17,280 products in another order (oneDNN against XLA:CPU), and the
  round-off grows through 94 layers. Against pytorch-fid's network run in float64, pytorch-fid's
  float32 features are off by up to 9.5e-5 (rms 9.4e-6) and ganbench's by 9.5e-5 (rms 1.0e-5):
  the test asserts ganbench is within twice pytorch-fid's own error of the float64 result, and
  ``rtol = atol = 3e-4`` against each peer [max |diff| 8.9e-5 pytorch-fid, 8.5e-5
  torch-fidelity, 1.2e-4 clean; at most 23% of the tolerance];
- statistics (float64, from those features): ``atol = 2e-4`` for the mean and the covariance
  [mean 1.2e-5; covariance 3.6e-5];
- FID (18 images against 18: rank 17 in 2048 dimensions): ganbench's symmetric eigenvalue form
  (:func:`ganbench.metrics.frechet_distance_from_stats`) of its own statistics against
  pytorch-fid's ``scipy.linalg.sqrtm`` and torch-fidelity's eigenvalues of the non-symmetric
  product, each of its own: ``rtol = 2e-5`` [2.6e-7 pytorch-fid, 2.1e-6 torch-fidelity, at
  FIDs of about 153].
"""

from __future__ import annotations

import contextlib
import copy
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pfid_inception = pytest.importorskip("pytorch_fid.inception")
pfid_score = pytest.importorskip("pytorch_fid.fid_score")
tfid_inception = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
tfid_fid = pytest.importorskip("torch_fidelity.metric_fid")
tfid_datasets = pytest.importorskip("torch_fidelity.datasets")
cleanfid_resize = pytest.importorskip("cleanfid.resize")
Image = pytest.importorskip("PIL.Image")
TF = pytest.importorskip("torchvision.transforms.functional")

from ganbench.extractors import inception as I  # noqa: E402
from ganbench.metrics.frechet import frechet_distance_from_stats, gaussian_stats  # noqa: E402

PTH = "pt_inception-2015-12-05-6726825d.pth"  # the names CONVERT_SNIPPET reads and writes
NPZ = "pt_inception.npz"
BATCH = 6  # ganbench's batch here (the groups are 12, 12, 6, 6: no padding); batch
# independence is tested in tests/test_inception.py

FEATURES_TOL = {"rtol": 3e-4, "atol": 3e-4}
STATS_TOL = {"rtol": 0, "atol": 2e-4}
FID_RTOL = 2e-5

# (count, height, width, Pillow mode): upsampling (CIFAR- and MNIST-like, one of them not
# square) and downsampling (not square).
GROUPS = [(12, 32, 32, "RGB"), (12, 48, 64, "RGB"), (6, 28, 28, "L"), (6, 340, 400, "RGB")]


@contextlib.contextmanager
def _weights_from(state_dict):
    """pytorch-fid's weights loader returns ``state_dict`` instead of downloading."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pfid_inception, "load_state_dict_from_url", lambda *a, **k: state_dict)
        yield


def _random_image(rng: np.random.Generator, h: int, w: int, channels: int) -> np.ndarray:
    """Smooth random colour fields plus noise: varied enough that features differ by image."""
    coarse = rng.uniform(0, 255, (rng.integers(2, 7), rng.integers(2, 7), channels))
    field = Image.fromarray(coarse.astype(np.uint8).squeeze()).resize((w, h), Image.BILINEAR)
    noisy = np.asarray(field, np.float64).reshape(h, w, channels)
    noisy = noisy + rng.normal(0, rng.uniform(5, 40), noisy.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _calibrate(net, rng: np.random.Generator) -> None:
    """Batch-norm running statistics from forward passes in training mode on random images
    (cumulative averages: momentum None), then inference mode."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    net.train()
    with torch.no_grad():
        for _ in range(2):
            x = np.stack([_random_image(rng, 299, 299, 3) for _ in range(8)])
            net(torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1)
    net.eval()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> tuple[Path, Path]:
    """pytorch-fid's FID network with random, calibrated weights, saved as its .pth file and
    converted by the documented snippet: ``(pth, npz)``."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # torchvision's Inception3 as pytorch-fid makes it has the FID network's names and shapes.
    shell = pfid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    state = shell.state_dict()
    for key, value in state.items():
        if key.endswith("bn.weight"):
            state[key] = torch.empty_like(value).uniform_(0.5, 1.5)
        elif key.endswith("bn.bias"):
            state[key] = torch.empty_like(value).normal_(0.0, 0.2)
    with _weights_from(state):
        net = pfid_inception.fid_inception_v3()
    _calibrate(net, rng)
    torch.save(net.state_dict(), folder / PTH)
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        exec(I.CONVERT_SNIPPET, {})  # the documented conversion, as a user runs it
    finally:
        os.chdir(cwd)
    return folder / PTH, folder / NPZ


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    """36 PNG files in four sizes, in an order that mixes the sizes."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    paths = []
    for g, (count, h, w, mode) in enumerate(GROUPS):
        for i in range(count):
            image = _random_image(rng, h, w, 1 if mode == "L" else 3)
            path = folder / f"{g}_{i:02d}.png"
            Image.fromarray(image.squeeze()).save(path)  # 2-D: mode L; 3 channels: RGB
            paths.append(path)
    order = np.random.default_rng(2).permutation(len(paths))
    return [paths[i] for i in order]


def _load(paths: list[Path], grey_as_one_channel: bool = False) -> list[np.ndarray]:
    """Image files as pytorch-fid loads them (Pillow, ``convert("RGB")``), uint8 (H, W, 3);
    grey files as (H, W, 1) if asked."""
    images = []
    for path in paths:
        with Image.open(path) as im:
            if grey_as_one_channel and im.mode == "L":
                images.append(np.array(im)[:, :, None])
            else:
                images.append(np.array(im.convert("RGB")))
    return images


def _features_of(model, images: list[np.ndarray]) -> np.ndarray:
    """ganbench's features of images of several sizes: one call per size, in the given order."""
    out = np.empty((len(images), 2048), np.float32)
    for shape in {a.shape for a in images}:
        idx = [i for i, a in enumerate(images) if a.shape == shape]
        out[idx] = model.features(np.stack([images[i] for i in idx]))
    return out


@pytest.fixture(scope="module")
def ganbench_features(weights, files):
    """Each resize mode's features of every file, computed once: ``{mode: (N, 2048)}``."""
    _, npz = weights
    cache: dict[str, np.ndarray] = {}

    def get(mode: str) -> np.ndarray:
        if mode not in cache:
            model = I.INCEPTION.load(npz, resize=mode, batch_size=BATCH)
            cache[mode] = _features_of(model, _load(files))
        return cache[mode]

    return get


def _check_features(name: str, got: np.ndarray, want: np.ndarray) -> None:
    """Within FEATURES_TOL; prints the largest difference and its share of the tolerance."""
    want = np.asarray(want, np.float64)
    diff = np.abs(got - want)
    share = diff / (FEATURES_TOL["atol"] + FEATURES_TOL["rtol"] * np.abs(want))
    print(
        f"\n{name}: max |diff| {diff.max():.3g}, max relative diff where |value| > 0.1 "
        f"{np.max(diff[np.abs(want) > 0.1] / np.abs(want[np.abs(want) > 0.1])):.3g}, "
        f"largest share of the tolerance {share.max():.3f} (values up to {np.abs(want).max():.3g})"
    )
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, **FEATURES_TOL)


def _check_stats(name: str, got: np.ndarray, want: np.ndarray) -> None:
    diff = np.abs(got - np.asarray(want))
    print(f"\n{name}: max |diff| {diff.max():.3g} (values up to {np.abs(want).max():.3g})")
    assert got.dtype == np.float64 and np.asarray(want).dtype == np.float64
    np.testing.assert_allclose(got, want, **STATS_TOL)


# ------------------------------------------------------------------------ pytorch-fid


@pytest.fixture(scope="module")
def pytorch_fid_model(weights):
    pth, _ = weights
    with _weights_from(torch.load(pth, map_location="cpu")):
        return pfid_inception.InceptionV3([3]).eval()


def _size_groups(files: list[Path]) -> list[list[int]]:
    """Indices of the files of each image size (GROUPS: the file name's first digit)."""
    groups: dict[str, list[int]] = {}
    for i, path in enumerate(files):
        groups.setdefault(path.name.split("_")[0], []).append(i)
    return list(groups.values())


@pytest.fixture(scope="module")
def pytorch_fid_activations(files, pytorch_fid_model) -> np.ndarray:
    """pytorch-fid's own loading, resize and network on the files: ``get_activations`` once per
    image size (its DataLoader stacks the images of a batch, so a batch has one size)."""
    out = np.empty((len(files), 2048))
    for idx in _size_groups(files):
        group = [files[i] for i in idx]
        out[idx] = pfid_score.get_activations(group, pytorch_fid_model, len(group), 2048, "cpu", 0)
    return out


def test_features_equal_pytorch_fids(
    weights, files, pytorch_fid_model, pytorch_fid_activations, ganbench_features
):
    _, npz = weights
    want = pytorch_fid_activations
    got = ganbench_features("pytorch_fid")
    assert np.std(want, axis=0).mean() > 1e-2  # features that differ between images
    _check_features("features vs pytorch-fid", got, want)
    # Both are float32 evaluations of one float64 result: ganbench is as close to pytorch-fid's
    # network run in float64 as pytorch-fid's own float32 run is (the grey 28 x 28 group).
    grey = [i for i, p in enumerate(files) if p.name.startswith("2_")]
    batch = torch.stack([TF.to_tensor(a) for a in _load([files[i] for i in grey])])
    double = copy.deepcopy(pytorch_fid_model).double()
    with torch.no_grad():
        exact = double(batch.double())[0][:, :, 0, 0].numpy()
    err_torch = np.abs(want[grey] - exact)
    err_ours = np.abs(got[grey] - exact)
    print(
        f"\nagainst float64: pytorch-fid max {err_torch.max():.3g} rms "
        f"{np.sqrt(np.mean(err_torch**2)):.3g}; ganbench max {err_ours.max():.3g} rms "
        f"{np.sqrt(np.mean(err_ours**2)):.3g}"
    )
    assert err_ours.max() <= 2 * err_torch.max()
    assert np.sqrt(np.mean(err_ours**2)) <= 2 * np.sqrt(np.mean(err_torch**2))
    # A grey file given as one channel: the same features as Pillow's convert("RGB").
    model = I.INCEPTION.load(npz, resize="pytorch_fid", batch_size=BATCH)
    one = _features_of(model, _load([files[i] for i in grey], grey_as_one_channel=True))
    np.testing.assert_array_equal(one, got[grey])


# pytorch-fid 0.3.0 passes sqrtm's disp=False, which SciPy deprecates; not ganbench's to fix.
@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")
def test_statistics_and_fid_equal_pytorch_fids(
    files, pytorch_fid_model, pytorch_fid_activations, ganbench_features
):
    rows = {path: i for i, path in enumerate(files)}
    a, b = files[:18], files[18:]
    with pytest.MonkeyPatch.context() as mp:
        # pytorch-fid's statistics of its own activations, computed above.
        mp.setattr(
            pfid_score,
            "get_activations",
            lambda paths, *args, **kw: pytorch_fid_activations[[rows[p] for p in paths]],
        )
        mu_a, s_a = pfid_score.calculate_activation_statistics(a, pytorch_fid_model)
        mu_b, s_b = pfid_score.calculate_activation_statistics(b, pytorch_fid_model)
    want = float(pfid_score.calculate_frechet_distance(mu_a, s_a, mu_b, s_b))
    features = ganbench_features("pytorch_fid")
    g_mu_a, g_s_a = gaussian_stats(features[:18])
    g_mu_b, g_s_b = gaussian_stats(features[18:])
    _check_stats("mu (first half) vs pytorch-fid", g_mu_a, mu_a)
    _check_stats("mu (second half) vs pytorch-fid", g_mu_b, mu_b)
    _check_stats("sigma (first half) vs pytorch-fid", g_s_a, s_a)
    _check_stats("sigma (second half) vs pytorch-fid", g_s_b, s_b)
    got = frechet_distance_from_stats(g_mu_a, g_s_a, g_mu_b, g_s_b)
    print(f"\nFID pytorch-fid {want!r}, ganbench {got!r}, relative {abs(got / want - 1):.3g}")
    assert want > 1.0
    assert got == pytest.approx(want, rel=FID_RTOL)


# ------------------------------------------------------------------------ torch-fidelity


def test_features_and_fid_equal_torch_fidelitys(weights, files, ganbench_features):
    pth, _ = weights
    net = tfid_inception.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(pth)
    )
    dataset = tfid_datasets.ImagesPathDataset([str(p) for p in files])  # its own loader
    want = torch.empty((len(files), 2048))
    for idx in _size_groups(files):  # one batch per image size
        with torch.no_grad():
            want[idx] = net(torch.stack([dataset[i] for i in idx]))[0]
    got = ganbench_features("legacy_tensorflow")  # the default mode
    _check_features("features vs torch-fidelity", got, want.numpy())
    stats_a = tfid_fid.fid_features_to_statistics(want[:18])
    stats_b = tfid_fid.fid_features_to_statistics(want[18:])
    fid = tfid_fid.fid_statistics_to_metric(stats_a, stats_b, False)
    want_fid = fid[tfid_fid.KEY_METRIC_FID]
    g_mu_a, g_s_a = gaussian_stats(got[:18])
    g_mu_b, g_s_b = gaussian_stats(got[18:])
    # torch-fidelity's mean is float32 (np.mean of float32 features); its covariance float64.
    np.testing.assert_allclose(g_mu_a, stats_a["mu"], **STATS_TOL)
    np.testing.assert_allclose(g_mu_b, stats_b["mu"], **STATS_TOL)
    _check_stats("sigma (first half) vs torch-fidelity", g_s_a, stats_a["sigma"])
    _check_stats("sigma (second half) vs torch-fidelity", g_s_b, stats_b["sigma"])
    got_fid = frechet_distance_from_stats(g_mu_a, g_s_a, g_mu_b, g_s_b)
    print(f"\nFID torch-fidelity {want_fid!r}, ganbench {got_fid!r}, "
          f"relative {abs(got_fid / want_fid - 1):.3g}")  # fmt: skip
    assert want_fid > 1.0
    assert got_fid == pytest.approx(want_fid, rel=FID_RTOL)


# ------------------------------------------------------------------------ clean-fid


def test_clean_mode_is_clean_fids_resize_and_normalisation(weights, files, ganbench_features):
    """clean-fid's network cannot be built here (a TorchScript file it downloads); its input is:
    PIL bicubic per channel (its resizer for mode "clean"), then (x - 128) / 128
    (cleanfid/inception_torchscript.py, InceptionV3W.forward). That input, through the FID
    network (pytorch-fid's module, without its own resize and normalisation), against ganbench's
    ``clean`` features."""
    pth, _ = weights
    resizer = cleanfid_resize.build_resizer("clean")
    with _weights_from(torch.load(pth, map_location="cpu")):
        layers = pfid_inception.InceptionV3([3], resize_input=False, normalize_input=False)
    layers.eval()
    images = _load(files)  # as clean-fid's ResizeDataset loads them: Pillow, RGB
    want = torch.empty((len(files), 2048))
    for idx in _size_groups(files):
        rgb = np.stack([images[i] for i in idx])
        resized = np.stack([resizer(image) for image in rgb])
        x = (torch.from_numpy(resized).permute(0, 3, 1, 2) - 128) / 128
        with torch.no_grad():
            want[idx] = layers(x)[0][:, :, 0, 0]
        # The network's input: 8 ulp of 255 in the resize (test_resize_peers.py), over 128.
        np.testing.assert_allclose(
            np.asarray(I.preprocess(rgb, "clean")),
            x.permute(0, 2, 3, 1).numpy(),
            rtol=0,
            atol=8 * 2.0**-16 / 128,
        )
    got = ganbench_features("clean")
    _check_features("clean features vs clean-fid's input through the FID network", got,
                    want.numpy())  # fmt: skip
