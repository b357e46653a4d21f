"""The IDX loader and Fashion-MNIST lookup (written by the tests), and the real data."""
import gzip
import os
import struct

import numpy as np
import pytest

from labutil import fake_fashion
from fastact.lab import data
from fastact.lab.data import DataError, read_idx, write_idx

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dtype,shape", [(np.uint8, (5, 28, 28)), (np.uint8, (7,)),
                                         (np.int8, (3, 4)), (np.int16, (6,)),
                                         (np.int32, (2, 3, 4)), (np.float32, (4, 5)),
                                         (np.float64, (3,)), (np.uint8, (0, 28, 28))])
def test_idx_round_trip(tmp_path, gz, dtype, shape):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), array)
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == gz
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_standard_one(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([1, 2, 3], np.uint8))
    assert path.read_bytes() == b"\x00\x00\x08\x01" + struct.pack(">I", 3) + b"\x01\x02\x03"
    path = write_idx(tmp_path / "x", np.zeros((2, 3), np.int32))
    assert path.read_bytes()[:12] == b"\x00\x00\x0c\x02" + struct.pack(">II", 2, 3)


def _write(path, payload, gz=False):
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(payload)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_bad_magic(tmp_path, gz):
    p = _write(tmp_path / "x", b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00", gz)
    with pytest.raises(DataError, match="not an IDX file.*bad magic number 0x01020801"):
        read_idx(p)


def test_unknown_type_code_and_zero_dimensions(tmp_path):
    p = _write(tmp_path / "x", b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(p)
    p = _write(tmp_path / "y", b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(p)


def test_tiny_and_empty_files(tmp_path):
    with pytest.raises(DataError, match=r"not an IDX file \(only 0 bytes\)"):
        read_idx(_write(tmp_path / "empty", b""))
    with pytest.raises(DataError, match="truncated IDX header"):
        read_idx(_write(tmp_path / "head", b"\x00\x00\x08\x03" + struct.pack(">I", 10)))


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_data(tmp_path, gz):
    full = b"\x00\x00\x08\x03" + struct.pack(">III", 2, 28, 28) + bytes(2 * 28 * 28)
    p = _write(tmp_path / "images", full[:-100], gz)
    with pytest.raises(DataError, match=r"truncated: the header announces shape \(2, 28, 28\) "
                                        r"\(1568 bytes of data\) but the file holds 1468"):
        read_idx(p)


def test_trailing_bytes(tmp_path):
    p = _write(tmp_path / "labels", b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes(5))
    with pytest.raises(DataError, match="2 bytes after the data"):
        read_idx(p)


def test_damaged_gzip(tmp_path):
    good = write_idx(tmp_path / "a.gz", np.arange(5000, dtype=np.int32))
    raw = good.read_bytes()
    cut = _write(tmp_path / "cut.gz", raw[:len(raw) // 2])
    with pytest.raises(DataError, match="cannot read"):
        read_idx(cut)
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    bad = _write(tmp_path / "bad.gz", bytes(flipped))
    with pytest.raises(DataError, match="cannot read"):
        read_idx(bad)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope")


def test_image_and_label_checks(tmp_path):
    images = write_idx(tmp_path / "i", np.zeros((4, 5, 5), np.uint8))
    labels = write_idx(tmp_path / "l", np.array([0, 1, 2], np.uint8))
    with pytest.raises(DataError, match="holds 4 images but .* holds 3 labels"):
        data.read_image_set(images, labels)
    labels = write_idx(tmp_path / "l", np.array([0, 1, 2, 10], np.uint8))
    with pytest.raises(DataError, match="label 10 out of range 0..9"):
        data.read_image_set(images, labels)
    flat = write_idx(tmp_path / "f", np.zeros((4, 25), np.uint8))
    with pytest.raises(DataError, match="expected a 3-dimensional IDX array"):
        data.read_image_set(flat, labels)
    floats = write_idx(tmp_path / "g", np.zeros((4, 5, 5), np.float32))
    with pytest.raises(DataError, match="expected uint8 data, found float32"):
        data.read_image_set(floats, labels)


@pytest.mark.parametrize("gz", [True, False])
def test_load_fashion_from_a_folder(tmp_path, gz):
    fake_fashion(tmp_path, n_train=40, n_test=20, gz=gz)
    ds = data.load_fashion_mnist(tmp_path)
    assert ds.x_train.shape == (40, 784) and ds.x_test.shape == (20, 784)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.classes == data.FASHION_CLASSES
    assert abs(float(ds.x_train.mean())) < 1e-4
    assert ds.source == str(tmp_path)


def test_mixed_gz_and_raw(tmp_path):
    paths = fake_fashion(tmp_path, n_train=30, n_test=10, gz=True)
    raw = paths["test_labels"].read_bytes()
    os.remove(paths["test_labels"])
    (tmp_path / data.FASHION_FILES["test_labels"]).write_bytes(gzip.decompress(raw))
    assert data.load_fashion_mnist(tmp_path).y_test.shape == (10,)


def test_mismatched_train_and_test_sizes(tmp_path):
    paths = fake_fashion(tmp_path, n_train=30, n_test=10)
    write_idx(paths["test_images"], np.zeros((10, 20, 20), np.uint8))
    with pytest.raises(DataError, match=r"train images are \(28, 28\) but test images are "
                                        r"\(20, 20\)"):
        data.load_fashion_mnist(tmp_path)


def test_incomplete_folder(tmp_path):
    paths = fake_fashion(tmp_path, n_train=30, n_test=10)
    os.remove(paths["test_labels"])
    with pytest.raises(DataError, match="incomplete Fashion-MNIST, missing "
                                        "t10k-labels-idx1-ubyte"):
        data.find_fashion_mnist(tmp_path)


def test_missing_data_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTACT_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", str(tmp_path / "debian"))
    with pytest.raises(DataError) as info:
        data.find_fashion_mnist(tmp_path / "given")
    message = str(info.value)
    assert "\n" not in message
    for name in data.FASHION_FILES.values():
        assert name in message
    assert "--data-dir" in message and "$FASTACT_DATA" in message
    assert "apt-get install dataset-fashion-mnist" in message
    with pytest.raises(DataError, match="looked in .*env"):
        data.find_fashion_mnist()


def test_environment_variable_is_searched(tmp_path, monkeypatch):
    fake_fashion(tmp_path / "fashion-mnist", n_train=20, n_test=10)
    monkeypatch.setenv("FASTACT_DATA", str(tmp_path))
    assert data.find_fashion_mnist()["train_images"].parent == tmp_path / "fashion-mnist"


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown data set 'mnist'"):
        data.load("mnist")


def _debian_files():
    folder = data.DEBIAN_FASHION_DIR
    names = list(data.FASHION_FILES.values())
    return all(os.path.isfile(os.path.join(folder, n + ".gz"))
               or os.path.isfile(os.path.join(folder, n)) for n in names)


@pytest.mark.skipif(not _debian_files(),
                    reason=f"the real Fashion-MNIST is not in {data.DEBIAN_FASHION_DIR}: "
                           f"install it with 'apt-get install dataset-fashion-mnist' "
                           f"(Debian's package of the four IDX files)")
def test_real_fashion_mnist_one_epoch():
    """One epoch of relu on the real 60,000 / 10,000 images: a working MLP
    reaches well over 80 % test accuracy."""
    from fastact.lab.train import Config, train_one
    ds = data.load_fashion_mnist(data.DEBIAN_FASHION_DIR)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    result = train_one("relu", ds, Config(epochs=1))
    assert result.test_accuracy >= 0.80, result.test_accuracy
