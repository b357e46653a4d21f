"""Data sets for ``compare``: scikit-learn's bundled digits and Fashion-MNIST.

Nothing is downloaded.  Fashion-MNIST is read from its four standard IDX files
(gzip-compressed or raw), looked up in ``--data-dir``, then ``$FASTACT_DATA``,
then the folder Debian's ``dataset-fashion-mnist`` package installs them in.

The IDX format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type
code, the number of dimensions, then one big-endian uint32 per dimension and
the data, big-endian, in C order.
"""
import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# type code -> big-endian dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DEBIAN_FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

DATASETS = ("digits", "fashion-mnist")


class DataError(ValueError):
    """A data set that is missing, truncated or inconsistent (one-line message)."""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray     # (n, features) float32, standardised
    y_train: np.ndarray     # (n,) int64 class indices
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple
    source: str             # where it came from, for the report

    @property
    def n_features(self):
        return self.x_train.shape[1]

    @property
    def n_classes(self):
        return len(self.classes)


# --------------------------------------------------------------------- IDX --

def _open(path):
    path = Path(path)
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_idx(path, *, expect_ndim=None, expect_dtype=None):
    """Read an IDX file (gzip or raw) into a NumPy array in native byte order.

    Raises DataError for a bad magic number, an unknown type code, a size that
    does not match the header (truncated or trailing data), a damaged gzip
    stream, or a shape/dtype other than the one expected.
    """
    path = Path(path)
    try:
        with _open(path) as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as exc:   # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: not an IDX file (bad magic number 0x{raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} of {header} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise DataError(f"{path}: truncated: the header announces shape {shape} "
                        f"({expected} bytes of data) but the file holds {got}")
    if got > expected:
        raise DataError(f"{path}: {got - expected} bytes after the data announced by "
                        f"the header (shape {shape}): not a valid IDX file")
    if expect_ndim is not None and ndim != expect_ndim:
        raise DataError(f"{path}: expected a {expect_ndim}-dimensional IDX array, "
                        f"found shape {shape}")
    if expect_dtype is not None and dtype != np.dtype(expect_dtype).newbyteorder(">"):
        raise DataError(f"{path}: expected {np.dtype(expect_dtype).name} data, "
                        f"found {dtype.name}")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write an array as an IDX file (gzip when ``compress`` or path ends in .gz)."""
    array = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    payload = (struct.pack(">HBB", 0, codes[native], array.ndim)
               + struct.pack(f">{array.ndim}I", *array.shape)
               + array.astype(native.newbyteorder(">")).tobytes())
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(payload)
    return path


# ---------------------------------------------------------- Fashion-MNIST --

def fashion_search_dirs(data_dir=None):
    """The folders searched for Fashion-MNIST, in order."""
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    env = os.environ.get("FASTACT_DATA")
    if env:
        dirs += [Path(env), Path(env) / "fashion-mnist"]
    dirs.append(Path(DEBIAN_FASHION_DIR))
    return dirs


def _missing_message(dirs):
    names = ", ".join(FASHION_FILES.values())
    where = ", ".join(str(d) for d in dirs)
    return (f"Fashion-MNIST not found: need {names} (each .gz or raw) in --data-dir DIR, "
            f"$FASTACT_DATA or {DEBIAN_FASHION_DIR} (apt-get install dataset-fashion-mnist); "
            f"looked in {where}")


def find_fashion_mnist(data_dir=None):
    """Paths of the four files, as a dict keyed like FASHION_FILES."""
    dirs = fashion_search_dirs(data_dir)
    for d in dirs:
        found = {}
        for key, name in FASHION_FILES.items():
            for candidate in (d / (name + ".gz"), d / name):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(FASHION_FILES):
            return found
        if found and data_dir is not None:
            missing = sorted(set(FASHION_FILES.values())
                             - {FASHION_FILES[k] for k in found})
            raise DataError(f"{d}: incomplete Fashion-MNIST, missing {', '.join(missing)} "
                            f"(.gz or raw)")
    raise DataError(_missing_message(dirs))


def read_image_set(images_path, labels_path, n_classes=10):
    """Images (n, rows, cols) uint8 and labels (n,) from one IDX pair, checked."""
    images = read_idx(images_path, expect_ndim=3, expect_dtype=np.uint8)
    labels = read_idx(labels_path, expect_ndim=1, expect_dtype=np.uint8)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_path} holds {images.shape[0]} images but {labels_path} "
                        f"holds {labels.shape[0]} labels")
    if labels.size and labels.max() >= n_classes:
        raise DataError(f"{labels_path}: label {labels.max()} out of range 0..{n_classes - 1}")
    return images, labels


def load_fashion_mnist(data_dir=None, dtype=np.float32):
    paths = find_fashion_mnist(data_dir)
    xtr, ytr = read_image_set(paths["train_images"], paths["train_labels"])
    xte, yte = read_image_set(paths["test_images"], paths["test_labels"])
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"train images are {xtr.shape[1:]} but test images are {xte.shape[1:]}")
    xtr, xte = _standardise(xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1), dtype)
    return Dataset("fashion-mnist", xtr, ytr.astype(np.int64), xte, yte.astype(np.int64),
                   FASHION_CLASSES, str(paths["train_images"].parent))


# ---------------------------------------------------------------- digits --

def load_digits(test_fraction=0.2, split_seed=0, dtype=np.float32):
    """scikit-learn's bundled 8x8 digits (1,797 images), split train/test.

    The split is stratified and fixed by ``split_seed`` (not by the run's
    seed), so every run sees the same test set.
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise DataError("the digits data set needs scikit-learn: "
                        "pip install 'fastact[lab]'") from None
    bunch = _load()
    x, y = bunch.data, bunch.target.astype(np.int64)
    rng = np.random.default_rng(split_seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test[idx[:int(round(test_fraction * len(idx)))]] = True
    xtr, xte = _standardise(x[~test], x[test], dtype)
    return Dataset("digits", xtr, y[~test], xte, y[test],
                   tuple(str(c) for c in range(10)), "sklearn.datasets.load_digits")


def _standardise(x_train, x_test, dtype):
    """Centre each pixel on its training mean, scale by one global training std.

    One global scale (not per pixel) keeps nearly-constant border pixels from
    being blown up into large inputs.
    """
    x_train = x_train.astype(np.float64)
    x_test = x_test.astype(np.float64)
    mean = x_train.mean(axis=0)
    scale = (x_train - mean).std() or 1.0
    return ((x_train - mean) / scale).astype(dtype), ((x_test - mean) / scale).astype(dtype)


def load(name, data_dir=None, dtype=np.float32):
    if name == "digits":
        return load_digits(dtype=dtype)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_dir, dtype=dtype)
    raise DataError(f"unknown data set {name!r}: choose from {', '.join(DATASETS)}")
