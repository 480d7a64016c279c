"""``ganbench eval`` and ``ganbench.evaluate``: every input kind, the comparability record, the
cache, and the equality with a suite's own evaluation of the same images.

Oracles: the suite evaluator (:class:`ganbench.diagnostics.image_eval.ImageEvaluator`) on the
same images, the metric functions on hand-built features, exact closed forms for 2-D points on
the modes, and the data written by the test itself (a folder is exactly its files)."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import CHILD_PEAK_KIB
from PIL import Image
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.errors import ConfigError, DataError

runner = CliRunner()


def _mnist_test_images(n: int | None = None) -> np.ndarray:
    from ganbench.data.mnist import load_mnist

    images, _ = load_mnist("test")
    return images if n is None else images[:n]


def _write_pngs(folder: Path, images: np.ndarray, prefix: str = "") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, x in enumerate(images):
        path = folder / f"{prefix}{i:05d}.png"
        Image.fromarray(x.squeeze(-1) if x.ndim == 3 and x.shape[-1] == 1 else x).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def digits(tiny_mnist_classified, tmp_path) -> Path:
    """A folder of 60 PNG files: the first 60 MNIST test digits of the tiny stand-in."""
    _write_pngs(tmp_path / "digits", _mnist_test_images(60))
    return tmp_path / "digits"


# ------------------------------------------------------------------- equality with suites


def test_a_folder_of_digits_scores_as_the_suite_evaluator_scores_the_same_images(digits):
    """Done-when: FID of a folder of real MNIST digits against MNIST test, through eval, equals
    the value ganbench's own suite evaluation gives for the same images."""
    import ganbench
    from ganbench.diagnostics.image_eval import load_extractor
    from ganbench.metrics import names as M

    result = ganbench.evaluate(digits, "mnist:test", use_cache=False)
    evaluator = load_extractor()
    fake = _mnist_test_images(60).astype(np.float32)[..., None] / 127.5 - 1.0
    real = _mnist_test_images().astype(np.float32)[..., None] / 127.5 - 1.0
    suite = {m: (v, nr, nf) for m, v, nr, nf in evaluator.rows(fake, real)}
    for name in (M.FID_MNIST, M.KID_MNIST, M.PRECISION, M.RECALL, M.DENSITY, M.COVERAGE,
                 M.CLASSES, M.CLASS_KL):  # fmt: skip
        assert result.value(name) == suite[name][0], name
    fid = next(m for m in result.metrics if m.name == M.FID_MNIST)
    assert (fid.n_samples, fid.n_reference) == (60, 200)  # the tiny stand-in's test split


# ------------------------------------------------------------------------ input kinds


def test_every_array_layout_gives_the_same_features(tiny_mnist_classified, tmp_path):
    import ganbench

    x = _mnist_test_images(40)
    base = ganbench.evaluate(x[..., None], "mnist:test", metrics=["fd"], use_cache=False)
    fd = base.value("fid_mnist_cnn")
    np.save(tmp_path / "nhw.npy", x)  # (N, H, W)
    np.savez(tmp_path / "nchw.npz", images=x[:, None])  # (N, C, H, W) under a key
    floats = x.astype(np.float64) / 127.5 - 1.0  # [-1, 1], quantised back to the same pixels
    np.save(tmp_path / "float.npy", floats[..., None])
    np.save(tmp_path / "unit.npy", (x / 255.0)[..., None])
    for source, options in (
        (tmp_path / "nhw.npy", {}),
        (f"{tmp_path / 'nchw.npz'}:images", {}),
        (tmp_path / "nchw.npz", {}),  # its one array
        (tmp_path / "float.npy", {}),
        (tmp_path / "unit.npy", {"value_range": "0,1"}),
    ):
        result = ganbench.evaluate(source, "mnist:test", metrics=["fd"], use_cache=False, **options)
        assert result.value("fid_mnist_cnn") == fd, source
    # Unquantised floats are measured as they are: close, not equal.
    noisy = floats + np.random.default_rng(0).uniform(-1e-3, 1e-3, floats.shape)
    raw = ganbench.evaluate(
        np.clip(noisy, -1, 1)[..., None], "mnist:test", metrics=["fd"], quantize=False,
        use_cache=False,
    )  # fmt: skip
    assert raw.value("fid_mnist_cnn") != fd
    assert raw.samples["input"] == {
        "dtype": "float64", "layout": "NHWC", "range": [-1.0, 1.0], "quantized": False,
        "channels": 1, "size": [28, 28],
    }  # fmt: skip


def test_float_images_outside_their_range_are_refused_with_the_flag_to_use(
    tiny_mnist_classified, tmp_path
):
    import ganbench

    np.save(tmp_path / "x.npy", np.full((4, 28, 28, 1), 200.0))
    with pytest.raises(DataError, match=r"\[200, 200\], outside the range \[-1, 1\].*--range"):
        ganbench.evaluate(tmp_path / "x.npy", "mnist:test")


def test_a_generator_is_called_until_n_samples(digits):
    import ganbench

    x = _mnist_test_images(60)[..., None]
    calls = []

    def batches():
        calls.append(1)
        start = 16 * (len(calls) - 1)
        return x[start : start + 16]

    result = ganbench.evaluate(batches, digits, n=40, metrics=["fd", "kid"], use_cache=False)
    assert len(calls) == 3 and result.samples["n"] == 40
    direct = ganbench.evaluate(x[:40], digits, metrics=["fd", "kid"], use_cache=False)
    assert result.as_dict() == direct.as_dict()
    assert result.samples["kind"] == "generator"
    with pytest.raises(ConfigError, match="number of samples"):
        ganbench.evaluate(batches, digits)


def test_points_against_a_mixture_get_the_mode_metrics():
    """Points exactly on the eight ring8 means, 10 each: all modes, all high quality, reverse KL
    0 (closed forms), and the data-space Frechet distance to the mixture is the covariance term
    of the means' spread (positive)."""
    import ganbench
    from ganbench.data import get_dataset

    means = get_dataset("ring8").means_array()
    points = np.repeat(means, 10, axis=0)
    result = ganbench.evaluate(points, "ring8", n_ref=2000)
    assert result.value("modes") == 8
    assert result.value("hq_fraction") == 1.0
    assert result.value("reverse_kl") == pytest.approx(0.0, abs=1e-12)
    assert [result.value(f"mode_count/{k}") for k in range(8)] == [10.0] * 8
    assert result.value("fd") > 0 and "precision_data" in result.as_dict()
    assert result.reference["name"] == "ring8" and result.reference["draws"] == 2000
    with pytest.raises(ConfigError, match="2-d points and the reference 3-d"):
        ganbench.evaluate(points, np.zeros((10, 3)))


def test_a_run_folder_is_read_at_its_final_samples_or_a_snapshot(tmp_path):
    """A run folder (as the runner writes it: manifest and samples.npz) against its own
    dataset by default."""
    from results_folder import write_run

    import ganbench
    from ganbench.data import get_dataset

    means = get_dataset("grid25").means_array()
    run = write_run(tmp_path, "abc", dataset="grid25", rows=[(100, "modes", 25.0, None, 25)])
    np.savez(run / "samples.npz", final=np.repeat(means, 4, axis=0), step_50=means[:5])
    result = ganbench.evaluate(run, metrics=["modes"])
    assert result.value("modes") == 25 and result.reference["name"] == "grid25"
    assert result.samples["run_id"] == "abc" and result.samples["samples"] == "final"
    early = ganbench.evaluate(run, "grid25", step=50, metrics=["modes"])
    assert early.value("modes") == 5
    with pytest.raises(DataError, match=r"no 'step_70' samples \(snapshots at steps 50"):
        ganbench.evaluate(run, "grid25", step=70)


def test_a_statistics_file_is_a_reference_and_save_stats_writes_pytorch_fid_format(digits,
                                                                                    tmp_path):  # fmt: skip
    import ganbench
    from ganbench.metrics import frechet_distance_from_stats, gaussian_stats

    ref = tmp_path / "ref.npz"
    first = ganbench.evaluate(digits, "mnist:test", save_stats_to=ref, metrics=["fd"])
    with np.load(ref, allow_pickle=False) as f:
        assert f["mu"].dtype == np.float64 and f["sigma"].shape == (128, 128)
        meta = json.loads(str(f["ganbench"]))
    assert meta["extractor"] == "mnist_cnn" and meta["n"] == 60
    # Against its own statistics: 0 up to the round-off of the square root of a rank-deficient
    # covariance (60 samples, 128-d), against a trace of hundreds.
    again = ganbench.evaluate(digits, ref)
    assert again.value("fid_mnist_cnn") == pytest.approx(0.0, abs=1e-3)
    # Without the reference's features: the Frechet distance, and the class metrics (which need
    # the samples' labels only); KID and the k-NN metrics need features.
    assert [m.name for m in again.metrics] == ["fid_mnist_cnn", "classes", "class_kl"]
    assert again.cache == {}
    # pytorch-fid's own format (mu, sigma only): used, with a warning that says what is assumed.
    with np.load(ref) as f:
        mu, sigma = f["mu"], f["sigma"]
    np.savez(tmp_path / "plain.npz", mu=mu, sigma=sigma)
    other = ganbench.evaluate(_mnist_test_images(30)[..., None], tmp_path / "plain.npz")
    from ganbench.diagnostics.image_eval import load_extractor

    feats = load_extractor().models[0].features(_mnist_test_images(30)[..., None])
    assert other.value("fid_mnist_cnn") == frechet_distance_from_stats(
        mu, sigma, *gaussian_stats(feats)
    )
    assert any("records no extractor" in w for w in other.warnings)
    assert first.settings["saved_stats"] == str(ref.absolute())
    with pytest.raises(ConfigError, match="statistics only"):
        ganbench.evaluate(digits, ref, metrics=["kid"])


# -------------------------------------------------------------- comparability and cache


def test_json_output_records_what_makes_the_numbers_comparable(digits):
    result = runner.invoke(app, ["eval", str(digits), "--ref", "mnist:test", "-f", "json",
                                 "--metrics", "fd,classes"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["metric"] for m in doc["metrics"]] == ["fid_mnist_cnn", "classes"]
    fid = doc["metrics"][0]
    assert (fid["n_samples"], fid["n_reference"]) == (60, 200)
    assert doc["samples"]["kind"] == "folder" and len(doc["samples"]["sha256"]) == 64
    assert doc["reference"]["name"] == "mnist:test"
    extractor = doc["extractors"][0]
    assert extractor["name"] == "mnist_cnn" and extractor["resize"] is None
    assert len(extractor["weights"]["sha256"]) == 64
    assert doc["samples"]["input"]["dtype"] == "uint8"
    assert doc["ganbench"] and doc["settings"]["kid_subsets"] == 100
    csv = runner.invoke(app, ["eval", str(digits), "--ref", "mnist:test", "-f", "csv"])
    header = csv.stdout.splitlines()[0].split(",")
    assert header[:4] == ["metric", "value", "better", "extractor"] and "n_reference" in header


def test_a_second_eval_against_the_same_reference_reads_its_cached_features(digits, tmp_path):
    import ganbench
    from ganbench.evaluation import cache

    first = ganbench.evaluate(digits, "mnist:test", metrics=["fd"])
    second = ganbench.evaluate(_mnist_test_images(50)[..., None], "mnist:test", metrics=["fd"])
    assert first.cache == {"mnist_cnn": "computed"} and second.cache == {"mnist_cnn": "cache"}
    # Another subset of the reference is another entry; a damaged entry is recomputed.
    third = ganbench.evaluate(digits, "mnist:test", n_ref=100, metrics=["fd"])
    assert third.cache == {"mnist_cnn": "computed"}
    for npz in cache.cache_folder().glob("*.npz"):
        data = bytearray(npz.read_bytes())
        data[-10] ^= 1
        npz.write_bytes(bytes(data))
    again = ganbench.evaluate(digits, "mnist:test", metrics=["fd"])
    assert again.cache == {"mnist_cnn": "computed"}
    assert again.value("fid_mnist_cnn") == first.value("fid_mnist_cnn")


def test_small_n_warns_and_fd_infinity_is_offered(digits):
    import ganbench

    result = ganbench.evaluate(digits, "mnist:test", metrics=["fd", "fd_inf"], use_cache=False)
    warnings = " ".join(result.warnings)
    assert "n=60 samples in dim=128" in warnings and "singular" in warnings
    assert math.isfinite(result.value("fid_mnist_cnn_inf"))


# ------------------------------------------------------------------------- hostile input


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` grey pixels (valid CRCs), with a
    tiny, wrong image stream: only a decoder that trusts the header would allocate."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))  # fmt: skip

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_png_declaring_ten_billion_pixels_is_refused_before_decoding(
    tiny_mnist_classified, tmp_path
):
    folder = tmp_path / "bomb"
    _write_pngs(folder, _mnist_test_images(3))
    (folder / "huge.png").write_bytes(_png_declaring(100_000, 100_000))
    result = runner.invoke(app, ["eval", str(folder), "--ref", "mnist:test"])
    assert result.exit_code == 2
    assert "huge.png: " in result.output and "refused before decoding" in result.output
    assert "Traceback" not in result.output


def test_unreadable_files_are_skipped_and_counted_links_not_followed(
    tiny_mnist_classified, tmp_path
):
    import ganbench

    folder = tmp_path / "mixed"
    _write_pngs(folder, _mnist_test_images(12))
    jpeg = folder / "cut.jpg"
    Image.fromarray(_mnist_test_images(1)[0]).save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:200])  # truncated
    (folder / "notes.png").write_text("not an image")
    (folder / "README.txt").write_text("hello")
    (folder / "loop").symlink_to(folder)  # a link loop: never followed
    (folder / "link.png").symlink_to(folder / "00000.png")
    result = ganbench.evaluate(folder, "mnist:test", metrics=["fd"], use_cache=False)
    assert result.samples["n"] == 12 and result.samples["skipped"] == 2
    notes = " ".join(result.warnings)
    assert "2 unreadable image file(s) skipped: cut.jpg" in notes and "notes.png" in notes
    assert "1 file(s) not named as images ignored" in notes
    assert "2 symbolic link(s) not followed" in notes


def test_an_npz_bomb_and_a_pickle_are_refused_without_reading_them(tiny_mnist_classified, tmp_path):
    import io
    import zipfile

    from numpy.lib import format as npy_format

    bomb = tmp_path / "bomb.npz"
    header = io.BytesIO()  # a header declaring 78.6 GB of uint8 images
    npy_format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (100_000, 512, 512, 3)}
    )
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("final.npy", "w", force_zip64=True) as f,
    ):
        f.write(header.getvalue())
        f.write(b"\0" * (1 << 20))  # 1 MiB of zeros compresses to ~1 KB
    result = runner.invoke(app, ["eval", str(bomb), "--ref", "mnist:test"])
    assert result.exit_code == 2 and "78,643,200,000 bytes" in result.output
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = runner.invoke(app, ["eval", str(tmp_path / "obj.npy"), "--ref", "mnist:test"])
    assert result.exit_code == 2 and "(a pickle); refused, never unpickled" in result.output


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"mu": np.zeros(128), "sigma": np.zeros((128, 127))}, "mu must be (D,) and sigma (D, D)"),
        ({"mu": np.zeros(128), "sigma": np.full((128, 128), np.nan)}, "non-finite"),
        ({"mu": np.zeros(64), "sigma": np.eye(64)}, "statistics of 64-d features"),
        ({"mu": np.zeros(128), "sigma": np.triu(np.ones((128, 128)))}, "not symmetric"),
    ],
)
def test_malformed_statistics_files_are_refused(digits, tmp_path, arrays, message):
    path = tmp_path / "stats.npz"
    np.savez(path, **arrays)
    result = runner.invoke(app, ["eval", str(digits), "--ref", str(path)])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and message in result.output


def test_bad_names_get_the_allowed_values(digits):
    cases = [
        (["--ref", "mnist:tset"], "no split 'tset'; allowed: train, test"),
        (["--ref", "mnsit:test"], "did you mean 'mnist'"),
        (["--ref", "mnist"], "name the split of 'mnist': mnist:train or mnist:test"),
        (["--ref", "mnist:test", "-x", "mnist_cn"], "did you mean 'mnist_cnn'"),
        (["--ref", "mnist:test", "-m", "fid"], "unknown metric 'fid'"),
        (["--ref", "mnist:test", "--n", "61"], "more samples than"),
        (["--ref", "mnist:test", "--resize", "clean"], "--resize"),
        (["--ref", "mnist:test", "-f", "xml"], "allowed: table, json, csv"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["eval", str(digits), *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


# ----------------------------------------------------------------- suites name extractors

SUITE = """
[suite]
name = "x"
seeds = 1
steps = 4
eval_every = 2

[defaults]
dataset = "{dataset}"
batch_size = 8
z_dim = 16
generator = {{ arch = "{arch}" }}
discriminator = {{ arch = "{arch}" }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4 }}

[metrics]
samples = 64
{metrics}

[[variants]]
name = "ns"
loss = "non_saturating"
"""


@pytest.mark.parametrize(
    ("dataset", "metrics", "message"),
    [
        ("mnist", 'extractors = ["mnist_cn"]', "did you mean 'mnist_cnn'"),
        ("mnist", 'extractors = ["mnist_cnn", "mnist_cnn"]', "named twice"),
        (
            "mnist",
            'weights = { inception = "x.npz" }',
            "weights.inception names an extractor this suite does not use",
        ),
        (
            "mnist",
            'extractors = ["mnist_cnn"]\nresize = { mnist_cnn = "clean" }',
            "resize.mnist_cnn = 'clean': allowed none",
        ),
        ("ring8", 'extractors = ["mnist_cnn"]', "no run of this suite trains on an image dataset"),
    ],
)
def test_a_suites_extractors_are_checked_when_it_loads(tmp_path, dataset, metrics, message):
    path = tmp_path / "s.toml"
    arch = "mlp" if dataset == "ring8" else "dcgan"
    path.write_text(SUITE.format(dataset=dataset, metrics=metrics, arch=arch))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_naming_the_default_extractor_keeps_the_run_ids(tmp_path):
    from ganbench.config import load_suite

    ids = []
    for metrics in ("", 'extractors = ["mnist_cnn"]'):
        path = tmp_path / "s.toml"
        path.write_text(SUITE.format(dataset="mnist", metrics=metrics, arch="dcgan"))
        ids.append([r.run_id for r in load_suite(path).runs])
    assert ids[0] == ids[1]


# ------------------------------------------------------------------ a folder of 200,000


@pytest.mark.slow
def test_a_folder_of_200000_tiny_files_is_read_in_bounded_memory(tmp_path):
    """200,000 1x1 PNG files (each ~70 bytes): listed, decoded, measured as points' images in
    well under a gigabyte (the peak resident memory of a child process)."""
    import subprocess
    import sys

    folder = tmp_path / "many"
    folder.mkdir()
    buf = __import__("io").BytesIO()
    Image.fromarray(np.full((1, 1), 128, np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    for i in range(200_000):
        sub = folder / f"{i // 10_000:02d}"
        if i % 10_000 == 0:
            sub.mkdir()
        (sub / f"{i:06d}.png").write_bytes(data)
    code = CHILD_PEAK_KIB + (
        "from ganbench.data import imagefiles\n"
        f"listing = imagefiles.list_images({str(folder)!r})\n"
        "folder = imagefiles.read_folder(listing)\n"
        "print(folder.n, folder.sizes, peak_kib())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, *_, peak_kib = out.stdout.split()
    assert int(n) == 200_000 and int(peak_kib) < 1024 * 1024
