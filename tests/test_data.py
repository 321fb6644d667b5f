import numpy as np
import pytest

from bnn_edge.data import class_order, load_dataset, load_digits, load_npz, validation_split
from bnn_edge.errors import UserError


def test_digits_split_is_fixed_and_stratified():
    a, b = load_digits(), load_digits()
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_train.shape[1:] == (8, 8, 1) and a.x_train.dtype == np.uint8
    assert a.x_train.max() == 16 and a.num_classes == 10 and a.vmax == 16
    assert len(a.x_train) + len(a.x_test) == 1797
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35


def test_class_order_seeded():
    assert class_order(10, 0) == list(range(10))
    o1, o2 = class_order(10, 3), class_order(10, 3)
    assert o1 == o2 and sorted(o1) == list(range(10)) and o1 != list(range(10))


def test_validation_split_holds_out_every_class():
    d = load_digits()
    xf, yf, xv, yv = validation_split(d.x_train, d.y_train, 0.1, 0)
    assert len(xf) + len(xv) == len(d.x_train)
    assert set(np.unique(yv)) == set(range(10))


def test_validation_split_zero_trains_on_everything():
    d = load_digits()
    xf, yf, xv, yv = validation_split(d.x_train, d.y_train, 0.0, 0)
    assert np.array_equal(xf, d.x_train) and np.array_equal(yf, d.y_train)
    assert xv.shape == (0, *d.x_train.shape[1:]) and len(yv) == 0


def _npz(tmp_path, **arrays):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return str(path)


def test_npz_loader_accepts_keras_layout(tmp_path):
    rng = np.random.default_rng(0)
    p = _npz(tmp_path, x_train=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), y_train=rng.integers(0, 5, (20, 1)),
             x_test=rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), y_test=rng.integers(0, 5, (6, 1)))
    d = load_dataset(p)
    assert d.x_train.shape == (20, 32, 32, 3) and d.y_train.shape == (20,) and d.vmax == 255


def test_npz_grayscale_gets_channel_axis(tmp_path):
    p = _npz(tmp_path, x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4), x_test=np.zeros((2, 28, 28), np.uint8),
             y_test=np.arange(2))
    assert load_npz(p).x_test.shape == (2, 28, 28, 1)


@pytest.mark.parametrize("arrays,msg", [
    (dict(x_train=np.zeros((4, 8, 8)), y_train=np.zeros(4, int)), "missing array(s) x_test, y_test"),
    (dict(x_train=np.zeros((4, 8)), y_train=np.zeros(4, int), x_test=np.zeros((2, 8, 8)), y_test=np.zeros(2, int)), "expected [N, H, W]"),
    (dict(x_train=np.zeros((4, 8, 8)), y_train=np.zeros(3, int), x_test=np.zeros((2, 8, 8)), y_test=np.zeros(2, int)), "3 labels but the images have 4"),
    (dict(x_train=np.zeros((4, 8, 8)), y_train=np.zeros(4, int), x_test=np.zeros((2, 9, 9)), y_test=np.zeros(2, int)), "x_test images are"),
    (dict(x_train=np.full((4, 8, 8), 300), y_train=np.zeros(4, int), x_test=np.zeros((2, 8, 8)), y_test=np.zeros(2, int)), "0..255"),
    (dict(x_train=np.zeros((4, 8, 8)), y_train=np.zeros(4), x_test=np.zeros((2, 8, 8)), y_test=np.zeros(2, int)), "integer label"),
])
def test_npz_errors_name_the_problem(tmp_path, arrays, msg):
    p = _npz(tmp_path, **arrays)
    with pytest.raises(UserError) as e:
        load_npz(p)
    assert msg in str(e.value) and p in str(e.value)


def test_npz_not_a_zip(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"not a zip file at all")
    with pytest.raises(UserError, match="not a readable .npz"):
        load_npz(str(p))


def test_missing_file_and_unknown_name():
    with pytest.raises(UserError, match="no such file"):
        load_dataset("/nonexistent/data.npz")
    with pytest.raises(UserError, match="unknown dataset 'no_such_dataset_xyz'"):
        load_dataset("no_such_dataset_xyz")


def test_unprepared_tfds_set_says_how_to_supply_data(tmp_path):
    with pytest.raises(UserError) as e:
        load_dataset("cifar10", data_dir=str(tmp_path))
    assert "not prepared" in str(e.value) and "--data-dir" in str(e.value) and ".npz" in str(e.value)


def _npz_file(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("y_train,msg", [
    (np.array([0, 1, 2, 10**6]), "label 1000000"),
    (np.array([0, 1, 2, 2**40]), "at most 65535 classes"),
    (np.array([0, 1, 2, 2**63 + 5], np.uint64), "label 9223372036854775813"),  # would wrap to a negative int64
])
def test_labels_are_capped_before_any_cast(tmp_path, y_train, msg):
    x = np.zeros((4, 8, 8), np.uint8)
    p = _npz_file(tmp_path / "d.npz", x_train=x, y_train=y_train, x_test=x[:2], y_test=np.arange(2))
    with pytest.raises(UserError, match=msg):
        load_npz(p)


def test_npz_declared_sizes_are_checked_before_decompressing(tmp_path, monkeypatch):
    import bnn_edge.data as data_mod

    x = np.zeros((64, 8, 8), np.uint8)
    arrays = dict(x_train=x, y_train=np.arange(64) % 8, x_test=x[:8], y_test=np.arange(8))
    p = _npz_file(tmp_path / "ok.npz", **arrays)
    assert load_npz(p).num_classes == 8
    monkeypatch.setattr(data_mod, "MAX_NPZ_BYTES", 4096)  # the four arrays declare ~5 KB
    with pytest.raises(UserError, match="declare .* bytes uncompressed, more than the 4096"):
        load_npz(p)
    # a member the loader does not need is never decompressed, whatever it declares
    big = _npz_file(tmp_path / "extra.npz", **arrays, junk=np.zeros(10_000, np.uint8))
    monkeypatch.setattr(data_mod, "MAX_NPZ_BYTES", 8192)
    assert load_npz(big).x_train.shape == (64, 8, 8, 1)


def test_npz_member_whose_size_disagrees_with_its_header(tmp_path):
    x = np.zeros((20, 8, 8), np.uint8)
    p = tmp_path / "bomb.npz"
    np.savez(p, x_train=x, y_train=np.arange(20) % 10, x_test=x[:10], y_test=np.arange(10))
    data = bytearray(p.read_bytes())
    entry = data.index(b"PK\x01\x02")  # central directory entry of x_train.npy: declare 1.5 GB
    data[entry + 24 : entry + 28] = (1_500_000_000).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    with pytest.raises(UserError, match="'x_train' declares 1500000000 bytes but its header describes"):
        load_npz(str(p))


def _dataset(y_train, y_test):
    from bnn_edge.data import Dataset

    x = np.zeros((1, 8, 8, 1), np.uint8)
    n = int(max(np.max(y_train), np.max(y_test))) + 1
    return Dataset("d", x.repeat(len(y_train), 0), np.asarray(y_train), x.repeat(len(y_test), 0), np.asarray(y_test), n, 16)


def test_check_classes(capsys):
    from bnn_edge.data import check_classes

    ok = _dataset([0, 0, 1, 1, 2, 2], [0, 1, 2])
    check_classes(ok, [0, 1, 2])
    assert capsys.readouterr().err == ""
    with pytest.raises(UserError, match=r"class\(es\) 2 have no training sample"):
        check_classes(_dataset([0, 0, 1, 1, 3, 3], [0, 1]), [0, 1, 3])  # sparse: class 2 is empty
    with pytest.raises(UserError, match=r"of 0..2 class\(es\) 2 have no training sample"):
        check_classes(_dataset([0, 0, 1, 1], [0, 2]), [0, 1])  # a stray test label
    with pytest.raises(UserError, match=r"2, 3, 4, 5, 6 ... \(9 in all\) have no training sample"):
        check_classes(_dataset([0, 0, 1, 1], [0, 10]), [0, 1])
    with pytest.raises(UserError, match=r"class\(es\) 1 have only 1 training sample"):
        check_classes(_dataset([0, 0, 1, 2, 2], [0, 1, 2]), [0, 1, 2])
    check_classes(_dataset([0, 0, 1], [0, 1]), [0])  # class 1 is not trained here: one sample is fine
    # valid but odd: a trained class without test samples is a warning line, not an error
    check_classes(_dataset([0, 0, 1, 1, 2, 2], [0, 1]), [0, 1, 2])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: d: class(es) 2 have no test sample")
