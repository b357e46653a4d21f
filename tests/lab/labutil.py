"""Helpers for the lab tests: small IDX data sets, PNG checks, the CLI."""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

import fastact
from fastact.lab.data import FASHION_FILES, write_idx

# the folder that holds the fastact package the tests import, for subprocesses
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastact.__file__)))


def fake_fashion(folder, n_train=300, n_test=100, gz=True, seed=0, side=28):
    """Four IDX files of a learnable toy problem: the class sets a bright patch."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, side, side)).astype(np.uint8)
        for i, c in enumerate(labels):
            r = 2 * int(c) % (side - 4)
            images[i, r:r + 4, 4:side - 4] = 250
        key = "train" if split == "train" else "test"
        for kind, array in (("images", images), ("labels", labels)):
            name = FASHION_FILES[f"{key}_{kind}"] + (".gz" if gz else "")
            paths[f"{key}_{kind}"] = write_idx(os.path.join(folder, name), array)
    return paths


def run_cli(*args, cwd=None, timeout=600, env=None):
    """``python -m fastact ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = _ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "fastact", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    assert "Warning" not in proc.stderr, f"a warning leaked:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, f"a traceback:\n{proc.stderr}"
    return proc.returncode, proc.stdout, proc.stderr


def png_info(path):
    """(width, height) of a PNG, after checking its signature, its IHDR chunk's
    CRC and that it ends with an IEND chunk."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG signature"
    length, tag = struct.unpack(">I4s", raw[8:16])
    assert tag == b"IHDR" and length == 13, f"{path}: no IHDR chunk first"
    body = raw[16:16 + 13]
    (crc,) = struct.unpack(">I", raw[29:33])
    assert crc == zlib.crc32(b"IHDR" + body), f"{path}: IHDR CRC mismatch"
    assert raw[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", f"{path}: no IEND chunk at the end"
    width, height = struct.unpack(">II", body[:8])
    return width, height


def check_png(path, min_side=300, max_bytes=1_000_000):
    width, height = png_info(path)
    size = os.path.getsize(path)
    assert min(width, height) >= min_side, f"{path}: {width}x{height} is too small"
    assert max(width, height) <= 5000, f"{path}: {width}x{height} is too large"
    assert 5_000 <= size <= max_bytes, f"{path}: {size} bytes"
    return width, height
