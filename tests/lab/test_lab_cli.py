"""``python -m fastact list | plot | compare`` end to end, in subprocesses."""
import csv
import json

import pytest

from labutil import check_png, fake_fashion, run_cli
from fastact.lab import cli, report

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

# ------------------------------------------------------------------- list --


def test_list_json():
    code, out, err = run_cli("list", "--format", "json", "--no-cost")
    assert code == 0, err
    doc = json.loads(out)
    from fastact import registry
    assert [a["name"] for a in doc["activations"]] == list(registry.names())
    relu = doc["activations"][2]
    assert relu["name"] == "relu" and relu["range"] == "[0, inf)"


def test_list_table_with_cost():
    code, out, err = run_cli("list", "relu", "swish", "prelu")
    assert code == 0, err
    header = out.splitlines()[0]
    assert "ns/element" in header and "x relu" in header
    assert out.splitlines()[2].split()[0] == "relu"
    assert "silu" in out            # the alias resolved


def test_list_table_fits_the_width():
    code, out, err = run_cli("list")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= report.WIDTH
    # the columns taken out of the table are still there, per activation
    assert "saturates (|f'| < 1e-3):" in out and "smoothness:" in out


def test_list_markdown():
    code, out, err = run_cli("list", "--format", "markdown", "--no-cost", "elu", "tanh")
    assert code == 0, err
    assert out.startswith("| activation |")
    assert "| elu |" in out and "| tanh |" in out


# ------------------------------------------------------------------- plot --

def test_plot_some(tmp_path):
    out = tmp_path / "two.png"
    code, stdout, err = run_cli("plot", "relu", "mish", "--range", "-4", "4", "--out", out)
    assert code == 0, err
    assert "wrote" in stdout
    check_png(out, max_bytes=400_000)


def test_plot_default_name(tmp_path):
    code, _, err = run_cli("plot", "gelu", cwd=tmp_path)
    assert code == 0, err
    # into the lab's git-ignored folder, not loose in the current one
    assert not (tmp_path / "gelu.png").exists()
    width, height = check_png(tmp_path / cli.DEFAULT_OUT / "gelu.png")
    assert width > height


def test_plot_refuses_to_overwrite(tmp_path):
    out = tmp_path / "one.png"
    out.write_bytes(b"keep me")
    code, stdout, err = run_cli("plot", "relu", "--out", out)
    assert code == 2 and stdout == ""
    assert "--force" in err and out.read_bytes() == b"keep me"
    code, stdout, err = run_cli("plot", "relu", "--out", out, "--force")
    assert code == 0, err
    assert "replaced" in stdout
    check_png(out)


def test_plot_without_name_shows_usage(capsys):
    assert cli.main("plot", []) == 2
    err = capsys.readouterr().err
    assert "usage: python -m fastact plot" in err and "'all'" in err


def test_plot_all(tmp_path):
    out = tmp_path / "all.png"
    code, _, err = run_cli("plot", "all", "--out", out)
    assert code == 0, err
    width, height = check_png(out, min_side=1000, max_bytes=400_000)
    assert height > width           # a grid of 27 panels, 4 wide


# ---------------------------------------------------------------- compare --

def _check_results(folder, names, epochs, n_layers):
    doc = json.loads((folder / "results.json").read_text())
    for key in ("dataset", "config", "runs"):
        assert key in doc
    assert doc["config"]["epochs"] == epochs
    assert [r["activation"] for r in doc["runs"]] == names
    for r in doc["runs"]:
        for key in ("test_accuracy", "train_accuracy", "test_loss", "epoch_seconds",
                    "dead_fraction", "saturated_fraction", "grad_norms", "history"):
            assert key in r, key
        assert 0 <= r["test_accuracy"] <= 1
        assert len(r["history"]) == epochs
        assert len(r["grad_norms"]) == n_layers
    with open(folder / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["activation"] for r in rows] == names
    assert float(rows[0]["test_accuracy"]) == doc["runs"][0]["test_accuracy"]
    assert (folder / "results.md").read_text().startswith("# fastact compare")
    for png in ("curves.png", "grad_norms.png", "dead_units.png"):
        check_png(folder / png, max_bytes=300_000)
    return doc


def test_compare_digits(tmp_path):
    out = tmp_path / "res"
    code, stdout, err = run_cli("compare", "--activations", "relu,tanh", "prelu",
                                "--epochs", "2", "--hidden", "32,16", "--out", out,
                                env={"COLUMNS": "120"})    # wide enough for the bars
    assert code == 0, err
    doc = _check_results(out, ["relu", "tanh", "prelu"], 2, 3)
    assert doc["dataset"] == "digits"
    assert doc["config"]["hidden"] == [32, 16]
    assert doc["runs"][2]["prelu_slopes"][0]["layer"] == 1
    assert "test acc" in stdout and "prelu" in stdout
    assert "ms/epoch" in stdout and "s/epoch" not in stdout.replace("ms/epoch", "")
    assert "slopes" in stdout       # prelu's note, under the table
    assert max(len(line) for line in stdout.splitlines()) <= report.WIDTH
    assert "step" in err            # the progress bars went to stderr


@pytest.mark.parametrize("columns", ["0", "5"])
def test_compare_no_bar_on_a_zero_width_terminal(tmp_path, columns):
    code, stdout, err = run_cli("compare", "--activations", "relu", "--epochs", "1",
                                "--hidden", "8", "--out", tmp_path,
                                env={"COLUMNS": columns})
    assert code == 0, err
    assert "step" not in err and "\n\n" not in err
    assert "test acc" in stdout


def test_compare_fashion_mnist_from_a_folder(tmp_path):
    fake_fashion(tmp_path / "data", n_train=200, n_test=60)
    out = tmp_path / "res"
    code, stdout, err = run_cli("compare", "--dataset", "fashion-mnist", "--data-dir",
                                tmp_path / "data", "--activations", "relu", "--epochs", "2",
                                "--depth", "3", "--hidden", "16", "--optimizer", "sgd",
                                "--batch-size", "20", "--no-progress", "--out", out)
    assert code == 0, err
    doc = _check_results(out, ["relu"], 2, 4)
    assert doc["dataset"] == "fashion-mnist"
    assert doc["config"]["hidden"] == [16, 16, 16]
    assert doc["config"]["optimizer"] == "sgd" and doc["config"]["batch_size"] == 20
    assert doc["data"]["n_train"] == 200
    assert err == ""


def test_compare_is_reproducible(tmp_path):
    runs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        code, _, err = run_cli("compare", "--activations", "selu", "--epochs", "1",
                               "--hidden", "24", "--seed", "5", "--no-progress", "--out", out)
        assert code == 0, err
        run = json.loads((out / "results.json").read_text())["runs"][0]
        run.pop("epoch_seconds")
        for h in run["history"]:
            h.pop("seconds")
        runs.append(run)
    assert runs[0] == runs[1]


# ------------------------------------------------------------ bad options --

BAD = [
    (["list", "--format", "xml"], "invalid choice: 'xml'"),
    (["list", "relu7"], "unknown activation 'relu7'"),
    (["plot"], "or 'all' for every one"),
    (["plot", "nope"], "unknown activation 'nope'"),
    (["plot", "relu", "--range", "3", "1"], "LO must be less than HI"),
    (["plot", "relu", "--range", "0", "inf"], "expected a finite number"),
    (["plot", "relu", "--out", "x.jpg"], "must end in .png"),
    (["plot", "relu", "--out", "/nonexistent/dir/x.png"], "does not exist"),
    (["compare", "--epochs", "0"], "expected a positive integer, got '0'"),
    (["compare", "--epochs", "two"], "expected a positive integer"),
    (["compare", "--batch-size", "-3"], "expected a positive integer"),
    (["compare", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["compare", "--activations", "relu,nope"], "unknown activation 'nope'"),
    (["compare", "--hidden", "0,3"], "layer widths must be positive"),
    (["compare", "--hidden", "a,b"], "comma-separated layer widths"),
    (["compare", "--hidden", "8,8", "--depth", "3"], "--hidden gives 2 widths but --depth is 3"),
    (["compare", "--lr", "-1"], "expected a positive number"),
    (["compare", "--lr", "nan"], "expected a positive number"),
    (["compare", "--seed", "-1"], "expected an integer >= 0"),
    (["compare", "--dataset", "mnist"], "invalid choice: 'mnist'"),
    (["compare", "--data-dir", "/tmp"], "--data-dir applies to --dataset fashion-mnist only"),
    (["compare", "--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_options(capsys, argv, message):
    code = cli.main(argv[0], argv[1:])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"fastact {argv[0]}: error: ")
    assert message in lines[0]


@pytest.mark.parametrize("argv", [
    ["compare", "--epochs", "0"],
    ["plot", "relu", "--range", "3", "1"],
    ["compare", "--dataset", "fashion-mnist", "--data-dir", "/nonexistent/fashion"],
    ["frobnicate"],
])
def test_bad_options_in_a_subprocess(tmp_path, argv):
    if argv[0] == "compare":
        argv = argv + ["--out", tmp_path / "o"]
    code, out, err = run_cli(*argv)
    assert code == 2
    assert "Traceback" not in err
    first = err.strip().splitlines()[0]
    assert first.startswith("fastact")
    if argv[0] != "frobnicate":
        assert len(err.strip().splitlines()) == 1, err


def test_missing_fashion_mnist_names_the_files(tmp_path):
    code, _, err = run_cli("compare", "--dataset", "fashion-mnist", "--data-dir",
                           tmp_path / "empty", "--out", tmp_path / "o")
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                 "apt-get install dataset-fashion-mnist", "FASTACT_DATA"):
        assert name in line


def test_core_commands_do_not_import_the_extras():
    code, out, err = run_cli("list", "--no-cost", "relu")
    assert code == 0, err
    import subprocess
    import sys
    from labutil import _ROOT
    probe = ("import sys; from fastact.lab import cli; cli.main('list', ['--no-cost', 'relu']);"
             "print(sorted(m for m in ('matplotlib', 'sklearn', 'tqdm') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": _ROOT})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
