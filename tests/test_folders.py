"""Image folders as datasets: the stored pixels against images the test writes (no resize,
centre crop, Pillow's LANCZOS), labels from class folders, modes converted as documented, every
bound enforced before decoding, and a folder of coloured shapes trained with a DCGAN at 32 x 32
whose report shows its metrics beside the data floor row."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.data import folders, get_dataset
from ganbench.errors import ConfigError, DataError

COLOURS = {"blue": (40, 60, 230), "green": (30, 200, 40), "red": (220, 30, 30)}


def _solid(path, size, colour, mode="RGB"):
    Image.new(mode, size, colour).save(path)


def _shapes(root, n=6, seed=0, labelled=True, sizes=(32, 32)):
    """Coloured discs on black, one colour per class (3 modes); returns the folder."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    for name, colour in COLOURS.items():
        folder = root / name if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            w = int(rng.integers(*sizes)) if sizes[1] > sizes[0] else sizes[0]
            im = Image.new("RGB", (w, w), (0, 0, 0))
            ImageDraw.Draw(im).ellipse((w * 0.2, w * 0.2, w * 0.8, w * 0.8), fill=colour)
            im.save(folder / f"{name}_{i:02d}.png")
    return root


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(path))
    return path


def test_unlabelled_images_are_stored_as_written_in_sorted_order(store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    colours = [(i * 20, 255 - i * 20, (7 * i) % 256) for i in range(5)]
    for i, colour in reversed(list(enumerate(colours))):  # written out of order
        _solid(src / f"img_{i}.png", (8, 8), colour)
    _, scan = folders.import_folder("plain", src, 8)
    dataset = get_dataset("folder:plain")
    images, labels = dataset.split_arrays("train")
    assert labels is None and scan.classes == [] and dataset.n_classes is None
    assert images.shape == (5, 8, 8, 3) and images.dtype == np.uint8
    for i, colour in enumerate(colours):
        assert (images[i] == np.array(colour, np.uint8)).all()
    evaluated, eval_labels = dataset.eval_images("train")
    np.testing.assert_array_equal(evaluated, images)
    assert eval_labels is None
    assert dataset.splits == ("train",) and not dataset.official
    assert dataset.identity_data() == dataset.fingerprint


def test_class_folders_give_labels_and_links_hidden_and_other_files_are_skipped(store, tmp_path):
    src = tmp_path / "src"
    for name in ("b_cats", "a_dogs"):
        (src / name / "deeper").mkdir(parents=True)
    _solid(src / "a_dogs" / "1.png", (4, 4), (1, 2, 3))
    _solid(src / "a_dogs" / "deeper" / "2.jpg", (4, 4), (200, 200, 200))
    _solid(src / "b_cats" / "1.PNG", (4, 4), (9, 9, 9))
    (src / "b_cats" / "notes.txt").write_text("not an image")
    (src / "b_cats" / ".hidden.png").write_bytes(b"junk")
    outside = tmp_path / "outside"
    outside.mkdir()
    _solid(outside / "x.png", (4, 4), (255, 0, 0))
    os.symlink(outside, src / "b_cats" / "linked_dir")
    os.symlink(outside / "x.png", src / "a_dogs" / "linked.png")
    _, scan = folders.import_folder("pets", src, 4)
    assert scan.classes == ["a_dogs", "b_cats"]
    assert [(p.name, label) for p, label in scan.files] == [
        ("1.png", 0),
        ("2.jpg", 0),
        ("1.PNG", 1),
    ]
    assert scan.counts == {
        "hidden": 1,
        "not images (by extension)": 1,
        "symbolic links (not followed)": 2,
    }
    dataset = get_dataset("folder:pets")
    images, labels = dataset.split_arrays("train")
    assert labels.tolist() == [0, 0, 1] and dataset.classes == ("a_dogs", "b_cats")
    assert (images[0] == [1, 2, 3]).all() and (images[2] == [9, 9, 9]).all()
    assert dataset.eval_images("train")[1].tolist() == [[0], [0], [1]]


def test_centre_crop_keeps_the_central_square_and_resize_is_pillows_lanczos(store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:30] = (0, 255, 0)  # the central 20 x 20 square
    wide[:, 30:] = (0, 0, 255)
    Image.fromarray(wide).save(src / "wide.png")
    folders.import_folder("crop", src, 20)
    stored = get_dataset("folder:crop").split_arrays("train")[0][0]
    assert (stored == [0, 255, 0]).all()

    folders.import_folder("squash", src, 12, crop="resize")
    expected = np.asarray(Image.fromarray(wide).resize((12, 12), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(
        get_dataset("folder:squash").split_arrays("train")[0][0], expected
    )


def test_shrinking_averages_instead_of_aliasing(store, tmp_path):
    """A 1-pixel checkerboard of 0 and 255 halved: an antialiased filter gives mid-grey
    everywhere (away from the border), where point sampling would give all 0 or all 255."""
    src = tmp_path / "src"
    src.mkdir()
    board = ((np.indices((64, 64)).sum(axis=0) % 2) * 255).astype(np.uint8)
    Image.fromarray(board).save(src / "board.png")
    folders.import_folder("board", src, 32, channels=1)
    stored = get_dataset("folder:board").split_arrays("train")[0][0, 4:-4, 4:-4, 0].astype(float)
    assert abs(stored.mean() - 127.5) < 2 and stored.std() < 8


@pytest.mark.parametrize("channels", [1, 3])
def test_pixel_modes_are_converted_as_documented(store, tmp_path, channels):
    src = tmp_path / "src"
    src.mkdir()
    rgba = Image.new("RGBA", (2, 2), (10, 20, 30, 0))  # fully transparent: colour kept
    rgba.save(src / "a_rgba.png")
    grey = Image.new("L", (2, 2), 77)
    grey.save(src / "b_grey.png")
    palette = Image.new("P", (2, 2), 1)
    palette.putpalette([0, 0, 0, 90, 180, 45] + [0] * 762)
    palette.save(src / "c_palette.png")
    sixteen = Image.fromarray(np.array([[0, 32768], [65535, 257]], np.uint16))
    assert sixteen.mode.startswith("I;16")
    sixteen.save(src / "d_sixteen.png")
    folders.import_folder("modes", src, 2, channels=channels)
    images = get_dataset("folder:modes").split_arrays("train")[0]
    assert images.shape == (4, 2, 2, channels)

    def luma(r, g, b):  # ITU-R 601-2, Pillow's "L" (to the unit)
        return r * 299 / 1000 + g * 587 / 1000 + b * 114 / 1000

    expected_16 = np.array([[0, 128], [255, 1]], np.uint8)  # rint(v * 255 / 65535)
    if channels == 3:
        assert (images[0] == [10, 20, 30]).all()
        assert (images[1] == 77).all()
        assert (images[2] == [90, 180, 45]).all()
        np.testing.assert_array_equal(images[3], np.repeat(expected_16[:, :, None], 3, axis=2))
    else:
        assert np.abs(images[0].astype(float) - luma(10, 20, 30)).max() <= 1
        assert (images[1] == 77).all()
        assert np.abs(images[2].astype(float) - luma(90, 180, 45)).max() <= 1
        np.testing.assert_array_equal(images[3, :, :, 0], expected_16)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels and whose pixel data are missing."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_bounds_and_bad_files_are_refused_naming_the_file_before_decoding(
    store, tmp_path, monkeypatch
):
    src = tmp_path / "src"
    src.mkdir()
    _solid(src / "ok.png", (4, 4), (1, 1, 1))
    # A header of 8,000 x 8,000 pixels and no pixel data: refused from the header, by
    # ganbench's own bound (64 megapixels are under Pillow's decompression-bomb limit).
    (src / "zz_bomb.png").write_bytes(_png_header_only(8_000, 8_000))
    with pytest.raises(DataError, match=r"zz_bomb.png: 8000 x 8000 pixels; an image is at most"):
        folders.import_folder("x", src, 4)
    (src / "zz_bomb.png").write_bytes(os.urandom(200))
    with pytest.raises(DataError, match=r"zz_bomb.png: not an image Pillow can decode"):
        folders.import_folder("x", src, 4)
    (src / "zz_bomb.png").unlink()
    monkeypatch.setattr(folders, "MAX_FILE_BYTES", 10)
    with pytest.raises(DataError, match=r"ok.png: \d+ bytes; an image file is at most 10"):
        folders.import_folder("x", src, 4)
    monkeypatch.undo()
    _solid(src / "ok2.png", (4, 4), (1, 1, 1))
    with pytest.raises(DataError, match="more than 1 images"):
        folders.import_folder("x", src, 4, max_files=1)
    (src / "cls").mkdir()
    with pytest.raises(DataError, match=r"both image files .* and sub-folders"):
        folders.import_folder("x", src, 4)
    assert not store.exists()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "Bad Name"}, "bad folder dataset name 'Bad Name'"),
        ({"size": 0}, r"--size must be an integer in \[1, 1024\], got 0"),
        ({"size": 2000}, r"--size must be an integer in \[1, 1024\], got 2000"),
        ({"channels": 2}, "--channels must be 1 or 3"),
        ({"crop": "fill"}, "--crop must be one of center, resize"),
    ],
)
def test_bad_options_are_config_errors(store, tmp_path, kwargs, expected):
    args = {"name": "ok", "size": 8, **kwargs}
    with pytest.raises(ConfigError, match=expected):
        folders.import_folder(args.pop("name"), tmp_path, args.pop("size"), **args)


def test_a_suite_naming_a_folder_that_is_not_imported_says_how(store, write_suite):
    path = write_suite(
        text="""
        [suite]
        name = "f"
        steps = 2
        eval_every = 1

        [defaults]
        dataset = "folder:nowhere"
        batch_size = 4
        z_dim = 4
        loss = "non_saturating"
        optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

        [[variants]]
        name = "a"
        """
    )
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    assert "dataset 'folder:nowhere' is not imported" in message
    assert "ganbench data import folder nowhere DIR --size S" in message
    assert "variants[0]" in message or "defaults" in message


def test_cli_import_reports_classes_and_skipped_files(store, tmp_path):
    src = _shapes(tmp_path / "shapes", n=2)
    (src / "red" / "readme.txt").write_text("x")
    res = CliRunner().invoke(
        app,
        ["data", "import", "folder", "shapes", str(src), "--size", "16"],
        env={"GANBENCH_DATA": str(store), "COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "folder:shapes: 6 images, 16 x 16 x 3, 3 classes (blue, green, red)" in res.output
    assert "skipped 1 not images (by extension)" in res.output
    res = CliRunner().invoke(
        app, ["data", "import", "folder", "shapes", str(src)], env={"GANBENCH_DATA": str(store)}
    )
    assert res.exit_code == 2 and "needs --size S" in res.output
    res = CliRunner().invoke(
        app, ["data", "import", "mnist", str(src), "--size", "8"], env={"GANBENCH_DATA": str(store)}
    )
    assert res.exit_code == 2 and "--size: options of 'data import folder', not mnist" in res.output


def _stub_inception(monkeypatch):
    """A cheap stand-in for the FID Inception (its own tests check the real network): the
    mean and standard deviation of each channel, six features per image."""
    from ganbench.extractors import inception

    def features(_model, images):
        x = np.asarray(images, np.float64)
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)

    monkeypatch.setattr(
        inception, "load_inception", lambda path: ({}, {"path": str(path), "sha256": "0" * 64})
    )
    monkeypatch.setattr(inception.InceptionModel, "features", features)


def test_a_folder_of_shapes_trains_a_dcgan_at_16_and_reports_beside_its_floor(
    store, tmp_path, monkeypatch
):
    """A folder imported at 16 x 16 trains Radford's DCGAN through the engine and reports beside
    its floor. 16 is the network's smallest side (one layer less to compile than 32: 11.6 s to
    8.4 s alone); its layers at 32 and 64 are checked against the authors' code in
    tests/test_archs.py, and resizing in the tests above."""
    import ganbench

    src = _shapes(tmp_path / "shapes", n=8, sizes=(24, 48))
    folders.import_folder("shapes", src, 16)
    _stub_inception(monkeypatch)
    suite = {
        # One step per evaluation: image programs on CPU unroll the steps of an evaluation
        # (ganbench.run.compile.CPU_IMAGE_SUBCHUNK), and each unrolled step compiles again.
        "suite": {"name": "shapes", "seeds": 2, "steps": 2, "eval_every": 1},
        "defaults": {
            "dataset": "folder:shapes",
            "batch_size": 8,
            "z_dim": 8,
            "loss": "non_saturating",
            "generator": {"arch": "dcgan_radford", "channels": 2},
            "discriminator": {"arch": "dcgan_radford", "channels": 2},
            "optimizer": {"name": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "b1": 0.5},
        },
        "metrics": {"samples": 12, "inception_weights": str(tmp_path / "stub.npz")},
        "variants": [{"name": "dcgan"}],
    }
    results = ganbench.run_suite(suite, out=tmp_path / "out")
    runs = results.runs
    assert sorted(runs["variant"]) == ["dcgan", "dcgan", "floor: folder:shapes half vs half"]
    assert set(runs["status"]) == {"completed"}
    final = results.metrics[results.metrics["step"] == 2]
    assert {"fid_inception", "kid_inception"} <= set(final["metric"])
    res = CliRunner().invoke(
        app, ["report", str(tmp_path / "out"), "--format", "markdown"], env={"COLUMNS": "250"}
    )
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if line.startswith("| ")]
    assert any(r.startswith("| dcgan | folder:shapes |") for r in rows)
    assert any(r.startswith("| floor: folder:shapes half vs half | folder:shapes |") for r in rows)
    assert "fid_inception" in rows[0]
