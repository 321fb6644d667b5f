"""Image-folder datasets (bnn_edge.datasets.folder): layouts, labels, modes, sizes, the cache, and
one clear ``error:`` line (exit 2) for every bad folder. Folders are generated here with Pillow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bnn_edge.data import load_dataset, load_run_dataset
from bnn_edge.datasets.folder import list_folder, load_image_folder, parse_image_size, stratified_split
from bnn_edge.errors import UserError

CLASSES = ("cat", "ant", "dog")  # sorted: ant=0, cat=1, dog=2


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BNN_EDGE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def _img(rng, h=8, w=8, mode="RGB") -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3) if mode == "RGB" else (h, w), dtype=np.uint8)


def make_folder(root: Path, per_class: dict[str, int], seed: int = 0, ext: str = ".png", mode: str = "RGB",
                size: tuple[int, int] = (8, 8)) -> dict[str, np.ndarray]:
    """Write random images; returns {relative path: pixels as written}."""
    rng = np.random.default_rng(seed)
    written = {}
    for cls, n in per_class.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = _img(rng, *size, mode=mode)
            path = root / cls / f"{i:03d}{ext}"
            Image.fromarray(arr, mode if mode in ("RGB", "L") else None).save(path)
            written[str(path.relative_to(root))] = arr
    return written


def test_split_layout_labels_pixels_and_class_names(tmp_path):
    tr = make_folder(tmp_path / "train", {c: 4 for c in CLASSES}, seed=1)
    te = make_folder(tmp_path / "test", {c: 2 for c in CLASSES}, seed=2)
    d = load_dataset(str(tmp_path))
    assert d.class_names == ["ant", "cat", "dog"]
    assert d.num_classes == 3 and d.vmax == 255
    assert d.x_train.shape == (12, 8, 8, 3) and d.x_test.shape == (6, 8, 8, 3)
    assert d.x_train.dtype == np.uint8
    # sorted class folders, then sorted file names: PNG is lossless, so pixels are exact
    expect = [tr[f"{c}/{i:03d}.png"] for c in ("ant", "cat", "dog") for i in range(4)]
    np.testing.assert_array_equal(d.x_train, np.stack(expect))
    np.testing.assert_array_equal(d.y_train, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(d.x_test[-1], te["dog/001.png"])
    assert d.options == {"image_size": None, "test_fraction": None}


def test_flat_layout_stratified_seeded_split(tmp_path):
    make_folder(tmp_path, {"a": 10, "b": 20, "c": 5}, ext=".jpg")
    d = load_dataset(str(tmp_path), test_fraction=0.2)
    assert np.bincount(d.y_test).tolist() == [2, 4, 1]
    assert np.bincount(d.y_train).tolist() == [8, 16, 4]
    again = load_image_folder(tmp_path, test_fraction=0.2)
    np.testing.assert_array_equal(again.x_test, d.x_test)  # deterministic (fixed split seed)
    other = load_dataset(str(tmp_path), test_fraction=0.5)
    assert np.bincount(other.y_test).tolist() == [5, 10, 2]
    assert other.options["test_fraction"] == 0.5


def test_stratified_split_keeps_one_each_side():
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    m = stratified_split(y, 0.01)
    assert m[y == 0].sum() == 1 and m[y == 1].sum() == 1
    m = stratified_split(y, 0.99)
    assert (~m)[y == 0].sum() == 1 and (~m)[y == 1].sum() == 1


def test_cache_second_load_identical_and_invalidated_by_a_change(tmp_path):
    make_folder(tmp_path / "data" / "train", {c: 3 for c in CLASSES})
    make_folder(tmp_path / "data" / "test", {c: 2 for c in CLASSES}, seed=3)
    first = load_image_folder(tmp_path / "data")
    assert not first.from_cache
    cached = Path(first.info["cache"])
    assert cached.is_file() and cached.suffix == ".npz"
    with np.load(cached, allow_pickle=False) as f:  # plain arrays only
        assert sorted(f.files) == ["sha256", "x_test", "x_train"]
    second = load_image_folder(tmp_path / "data")
    assert second.from_cache
    np.testing.assert_array_equal(second.x_train, first.x_train)
    np.testing.assert_array_equal(second.y_test, first.y_test)
    # rewriting one image (new content, new mtime) invalidates the cache
    p = tmp_path / "data" / "train" / "ant" / "000.png"
    new = np.full((8, 8, 3), 7, np.uint8)
    Image.fromarray(new).save(p)
    os.utime(p, ns=(1, 1))
    third = load_image_folder(tmp_path / "data")
    assert not third.from_cache
    np.testing.assert_array_equal(third.x_train[0], new)
    # a damaged cache file is ignored, not an error
    Path(third.info["cache"]).write_bytes(b"junk")
    fourth = load_image_folder(tmp_path / "data")
    assert not fourth.from_cache
    np.testing.assert_array_equal(fourth.x_train, third.x_train)


def test_sizes_refused_unless_resized(tmp_path):
    make_folder(tmp_path, {"a": 3, "b": 3})
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(tmp_path / "b" / "zz_big.png")
    with pytest.raises(UserError) as e:
        load_dataset(str(tmp_path))
    assert "zz_big.png" in str(e.value) and "10x12" in str(e.value) and "--image-size" in str(e.value)
    d = load_dataset(str(tmp_path), image_size=(6, 5))
    assert d.x_train.shape[1:] == (6, 5, 3)
    assert d.options["image_size"] == [6, 5]


def test_grayscale_majority(tmp_path):
    make_folder(tmp_path, {"a": 3, "b": 3}, mode="L")
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: luma 255 * 299/1000 = 76
    Image.fromarray(rgb).save(tmp_path / "a" / "red.png")
    with pytest.warns(UserWarning, match="converted to grayscale"):
        d = load_dataset(str(tmp_path), test_fraction=0.3)
    assert d.x_train.shape[-1] == 1
    allx = np.concatenate([d.x_train, d.x_test])
    assert (allx[..., 0] == 76).all(axis=(1, 2)).sum() == 1


def test_rgb_majority_replicates_gray(tmp_path):
    make_folder(tmp_path, {"a": 3, "b": 3})
    Image.fromarray(np.full((8, 8), 200, np.uint8), "L").save(tmp_path / "b" / "gray.png")
    with pytest.warns(UserWarning, match="converted to RGB"):
        d = load_dataset(str(tmp_path), test_fraction=0.3)
    assert d.x_train.shape[-1] == 3
    allx = np.concatenate([d.x_train, d.x_test])
    assert (allx == 200).all(axis=(1, 2, 3)).sum() == 1


def test_parse_image_size():
    assert parse_image_size("32x24") == (32, 24)
    assert parse_image_size("16") == (16, 16)
    assert parse_image_size(None) is None
    for bad in ("x", "0x3", "3x4x5", "axb"):
        with pytest.raises(UserError):
            parse_image_size(bad)


@pytest.mark.slow  # trains a network
def test_run_json_records_folder_options(tmp_path):
    make_folder(tmp_path / "imgs", {c: 6 for c in CLASSES}, size=(8, 8), mode="L")
    from bnn_edge.train import train_run

    out = tmp_path / "run"
    m = train_run(str(tmp_path / "imgs"), "tiny", out, epochs=1, verbose=False, test_fraction=0.25, image_size=(8, 8))
    run = json.loads((out / "run.json").read_text())
    assert run["class_names"] == ["ant", "cat", "dog"]
    assert run["dataset_options"] == {"image_size": [8, 8], "test_fraction": 0.25}
    again = load_run_dataset(run)  # what export/run/simulate load: the same test set
    assert m["test_samples"] == len(again.x_test) == 3 * 2  # 6 per class x 0.25 -> 2 (round-half-even of 1.5)


# --- bad folders: one `error:` line naming the path, exit 2 --------------------------------------

def _bad_cases(root: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    d = root / "empty_class"
    make_folder(d, {"a": 2, "b": 2})
    (d / "c").mkdir()
    cases["empty class folder"] = (d, str(d / "c"))
    d = root / "non_image"
    make_folder(d, {"a": 2, "b": 2})
    (d / "a" / "notes.txt").write_text("hello")
    cases["non-image file"] = (d, str(d / "a" / "notes.txt"))
    d = root / "corrupt"
    make_folder(d, {"a": 2, "b": 2}, ext=".jpg")
    (d / "b" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    cases["unreadable image"] = (d, str(d / "b" / "bad.jpg"))
    d = root / "missing_split"
    make_folder(d / "train", {"a": 2, "b": 2})
    cases["missing split"] = (d, str(d / "test"))
    d = root / "one_class"
    make_folder(d, {"a": 4})
    cases["fewer than 2 classes"] = (d, str(d))
    d = root / "class_mismatch"
    make_folder(d / "train", {"a": 2, "b": 2, "c": 2})
    make_folder(d / "test", {"a": 2, "b": 2})
    cases["class missing in test"] = (d, str(d / "test" / "c"))
    d = root / "size"
    make_folder(d, {"a": 2, "b": 2})
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(d / "b" / "odd.png")
    cases["other size"] = (d, str(d / "b" / "odd.png"))
    d = root / "stray_file"
    make_folder(d, {"a": 2, "b": 2})
    (d / "README").write_text("x")
    cases["file beside class folders"] = (d, str(d / "README"))
    return cases


def test_bad_folders_one_error_line_exit_2(tmp_path):
    from click.testing import CliRunner

    from bnn_edge.cli import main

    for name, (folder, named) in _bad_cases(tmp_path / "bad").items():
        r = CliRunner().invoke(main, ["train", "--dataset", str(folder), "--preset", "tiny", "--epochs", "1",
                                      "--out", str(tmp_path / "out" / folder.name)])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.exit_code == 2, (name, r.exit_code, r.output)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, r.stderr)
        assert named in lines[0], (name, named, lines[0])
        assert "Traceback" not in r.output


def test_folder_options_need_a_folder(tmp_path):
    with pytest.raises(UserError, match="image folders only"):
        load_dataset("digits", image_size=(8, 8))
    from click.testing import CliRunner

    from bnn_edge.cli import main

    make_folder(tmp_path / "f", {"a": 2, "b": 2})
    r = CliRunner().invoke(main, ["train", "--dataset", str(tmp_path / "f"), "--test-fraction", "1.5",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.stderr.startswith("error: --test-fraction 1.5")


def test_listing_ignores_hidden_entries(tmp_path):
    make_folder(tmp_path, {"a": 2, "b": 2})
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / "a" / ".hidden.png").write_text("x")
    listing = list_folder(tmp_path)
    assert listing["class_names"] == ["a", "b"]
    assert len(listing["splits"]["all"]["files"]) == 4


def test_exif_orientation_is_applied(tmp_path):
    """A camera file stored 4x8 with EXIF orientation 6 (rotate 90 degrees clockwise to view) loads
    as the 8x4 picture a viewer shows, beside plain 8x4 files."""
    make_folder(tmp_path, {"a": 2, "b": 2}, size=(8, 4))
    stored = np.arange(4 * 8 * 3, dtype=np.uint8).reshape(4, 8, 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    Image.fromarray(stored).save(tmp_path / "a" / "zz_rotated.png", exif=exif)
    d = load_image_folder(tmp_path, test_fraction=0.4)
    allx = np.concatenate([d.x_train, d.x_test])
    assert allx.shape[1:] == (8, 4, 3)
    assert sum(np.array_equal(x, np.rot90(stored, k=-1)) for x in allx) == 1


def test_oversized_image_refused_from_its_header(tmp_path, monkeypatch):
    import PIL.ImageFile

    from bnn_edge.datasets import folder

    make_folder(tmp_path, {"a": 2, "b": 2}, size=(8, 8))
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(tmp_path / "b" / "zz_big.png")
    monkeypatch.setattr(folder, "MAX_PIXELS", 70)  # 8x8 = 64 passes, 8x9 = 72 does not
    loads = []
    real_load = PIL.ImageFile.ImageFile.load
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", lambda im: loads.append(im.size) or real_load(im))
    with pytest.raises(UserError) as e:
        load_image_folder(tmp_path, image_size=(8, 8))
    assert "zz_big.png" in str(e.value) and "megapixel limit" in str(e.value)
    assert (8, 8) in loads and (9, 8) not in loads  # (w, h): its pixels were never decoded


def test_large_jpeg_resized_through_draft_decoding(tmp_path, monkeypatch):
    """Shrinking a 256x192 JPEG to 8x6 decodes it at a reduced DCT scale: same size, and close to a
    full decode followed by the same resize (a smooth picture, so both are near its mean colours)."""
    yy, xx = np.mgrid[0:192, 0:256]
    pic = np.stack([xx, yy, (xx + yy) // 2], -1).astype(np.uint8)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.fromarray(pic).save(tmp_path / c / f"{i}.jpg", quality=95)
    from PIL import JpegImagePlugin

    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft",
                        lambda im, mode, size: drafts.append(real_draft(im, mode, size)))
    d = load_image_folder(tmp_path, image_size=(6, 8), test_fraction=0.5)
    assert d.x_train.shape[1:] == (6, 8, 3)
    assert len(drafts) == 4 and all(r is not None and r[1][2] == 32 for r in drafts)  # decoded at 1/8: 32x24
    with Image.open(tmp_path / "a" / "0.jpg") as im:
        full = np.asarray(im.convert("RGB").resize((8, 6), Image.Resampling.BILINEAR), np.int16)
    assert np.abs(d.x_train[0].astype(np.int16) - full).max() <= 8


def test_size_mismatch_refused_from_the_header_and_first_error_stops_the_decode(tmp_path, monkeypatch):
    """Without --image-size, an image of another size is refused from its header (its pixels never
    decoded), and the decode stops at the first bad chunk: the chunks after it are never opened."""
    import PIL.ImageFile

    from bnn_edge.datasets import folder

    make_folder(tmp_path, {"a": 6, "b": 6}, size=(8, 8))
    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(tmp_path / "a" / "002_odd.png")  # 4th file, chunk 1
    monkeypatch.setattr(folder, "_CHUNK", 4)  # 13 files: chunks of 4; in this process (one worker)
    monkeypatch.setattr(folder, "_workers", lambda: 1)
    loads = []
    real_load = PIL.ImageFile.ImageFile.load
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", lambda im: loads.append(Path(im.filename).name) or real_load(im))
    with pytest.raises(UserError) as e:
        load_image_folder(tmp_path, test_fraction=0.3)
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "a" / "002_odd.png")) and "9x8" in msg and "000.png is 8x8" in msg
    assert "--image-size" in msg
    # 000, 001, 002 decoded; 002_odd refused from its header; the chunks after it never opened
    assert sorted(set(loads)) == ["000.png", "001.png", "002.png"]


def test_exif_rotated_file_passes_the_header_size_check(tmp_path):
    """The header check compares the size as shown: a file stored 4x8 with orientation 6 (shown 8x4)
    sits beside 8x4 files without --image-size, and one stored 8x4 with orientation 6 is refused."""
    make_folder(tmp_path, {"a": 2, "b": 2}, size=(8, 4))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((4, 8, 3), np.uint8)).save(tmp_path / "b" / "zz_rot.png", exif=exif)
    d = load_image_folder(tmp_path, test_fraction=0.4)
    assert d.x_train.shape[1:] == (8, 4, 3)
    Image.fromarray(np.zeros((8, 4, 3), np.uint8)).save(tmp_path / "b" / "zz_rot.png", exif=exif)
    with pytest.raises(UserError, match=r"zz_rot\.png: image is 4x8 but .*000\.png is 8x4"):
        load_image_folder(tmp_path, test_fraction=0.4)


def test_test_fraction_on_a_split_folder_is_one_warning_line(tmp_path):
    """--test-fraction has no effect where train/ and test/ exist: said once, as a `warning:` line
    (bnn-edge's own warnings are not Python's `file.py:N: UserWarning` with a source line)."""
    from click.testing import CliRunner

    from bnn_edge.cli import main

    make_folder(tmp_path / "d" / "train", {"a": 3, "b": 3}, mode="L")
    make_folder(tmp_path / "d" / "test", {"a": 2, "b": 2}, mode="L", seed=1)
    with pytest.warns(UserWarning, match="--test-fraction 0.3 ignored"):
        load_image_folder(tmp_path / "d", test_fraction=0.3)
    r = CliRunner().invoke(main, ["train", "--dataset", str(tmp_path / "d"), "--test-fraction", "0.3", "--epochs", "1",
                                  "--quiet", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if "test-fraction" in ln]
    assert lines == [f"warning: --test-fraction 0.3 ignored: {tmp_path / 'd'} has its own train/ and test/ folders"]
    assert "UserWarning" not in r.stderr


@pytest.mark.parametrize("damage", ["shape", "count", "pixels", "no_digest", "scalar"])
def test_a_damaged_cache_is_decoded_again_never_used(tmp_path, damage):
    """The cache is used only if it is what a decode gives (counts, one shape, its digest): an edited
    cache once trained a model on blank 8x8 images (exit 0), a truncated one was an IndexError."""
    from bnn_edge.datasets import folder

    make_folder(tmp_path / "d", {"a": 5, "b": 5}, size=(8, 8))
    first = load_image_folder(tmp_path / "d", test_fraction=0.4)
    path = Path(first.info["cache"])
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    x = arrays["x_all"]
    if damage == "shape":
        arrays["x_all"] = np.zeros((len(x), 4, 4, 3), np.uint8)
    elif damage == "count":
        arrays["x_all"] = x[:-1]
    elif damage == "pixels":
        arrays["x_all"] = np.zeros_like(x)  # same shape, digest of the old pixels kept
    elif damage == "no_digest":
        del arrays["sha256"]
    else:
        arrays["x_all"] = np.array(7, np.uint8)
    np.savez(path, **arrays)
    again = load_image_folder(tmp_path / "d", test_fraction=0.4)
    assert not again.from_cache
    np.testing.assert_array_equal(again.x_train, first.x_train)
    np.testing.assert_array_equal(again.x_test, first.x_test)
    assert load_image_folder(tmp_path / "d", test_fraction=0.4).from_cache  # rewritten, good again
    assert folder.CACHE_VERSION >= 3
