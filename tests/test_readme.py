"""The README stays true: its generated table, its tour and its CI commands."""
import pathlib
import re
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
