"""The README stays true: its generated table, its tour and its CI commands."""
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _marked_command(marker):
    match = re.search(rf"<!-- ci: {marker} -->\n```sh\n(.+)\n```", README)
    assert match, f"README.md has no '{marker}' block"
    return match.group(1)


def test_function_table_is_generated_from_the_registry():
    result = subprocess.run([sys.executable, "tools/update_readme.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tour_runs():
    block = re.search(r"## A short tour\n\n```python\n(.+?)```", README, re.S).group(1)
    namespace = {}
    exec(compile(block, "README tour", "exec"), namespace)
    assert namespace["dw"].shape == (1024,)
    assert np.allclose(namespace["p"].sum(axis=-1), 1.0)


def test_ci_runs_the_readme_test_command():
    command = _marked_command("test command")
    assert "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run reads the command from the README by its marker
    assert "<!-- ci: test command -->" in ci
    result = subprocess.run(
        ["awk", '/<!-- ci: test command -->/ {getline; getline; print; exit}', "README.md"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == command


def test_main_command_names_an_existing_cli_command():
    command = _marked_command("main command")
    sub = re.search(r"python -m fastact (\w+)", command).group(1)
    from fastact.__main__ import _COMMANDS
    assert sub in _COMMANDS


def _from_c():
    return README.split("## From C", 1)[1].split("\n## ", 1)[0]


def test_from_c_counts_its_kernel_sets():
    text = " ".join(_from_c().split())
    match = re.search(r"carries (\w+) sets of kernels, (.+?), and picks", text)
    assert match, "the From C section no longer names its kernel sets"
    listed = match.group(2).count("for ")
    assert {"two": 2, "three": 3, "four": 4}.get(match.group(1)) == listed, match.group(0)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_from_c_snippet_is_a_program(tmp_path):
    try:
        flags = subprocess.run([sys.executable, "-m", "fastact.config", "--cflags", "--libs"],
                               capture_output=True, text=True, check=True, timeout=60)
    except subprocess.CalledProcessError:
        pytest.skip("the C library is not built")
    source = re.search(r"```c\n(.+?)```", _from_c(), re.S).group(1)
    (tmp_path / "app.c").write_text(source)
    built = subprocess.run(["cc", "-Wall", "-Werror", "app.c", *flags.stdout.split(),
                            "-o", "app"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("leaky_relu(-2) = -0.4")


def test_from_pytorch_snippet_runs():
    torch = pytest.importorskip("torch")
    section = README.split("## From PyTorch", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.+?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(block, "README From PyTorch", "exec"), namespace)
    x, h, model = namespace["x"], namespace["h"], namespace["model"]
    assert x.grad is not None and x.grad.shape == x.shape
    assert torch.allclose(h, torch.nn.functional.silu(x.detach()))
    assert torch.allclose(namespace["p"].sum(dim=1), torch.ones(256))
    assert all(p.grad is not None for p in model.parameters())
