"""The benchmark harness: ``python -m fastact bench``, the pytest-benchmark suite in bench/,
bench/threshold.py and bench/startup.py, run end to end with tiny settings, and the
competitors of fastact.cli.bench_harness checked against each other."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastact import registry
from fastact.cli import bench, bench_harness as bc

pytestmark = pytest.mark.one_backend   # no kernel behaviour to compare between backends

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n", "1000", "--functions", "relu", "--dtype", "float32", "--min-time", "0.001",
        "--repeat", "3"]


def run(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------------------------------
# python -m fastact bench

def test_json_output_end_to_end():
    done = run("-m", "fastact", "bench", *TINY, "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"meta", "notes", "results"}
    assert {"command", "machine", "versions", "threads", "repeat"} <= set(doc["meta"])
    rows = doc["results"]
    assert [r["pass"] for r in rows] == list(bc.PASSES)
    assert doc["meta"]["backends"] == ["cython"]           # the default backend
    for r in rows:
        assert {"function", "backend", "pass", "dtype", "n", "bytes", "time", "gb_per_s",
                "copy_fraction", "vs_numpy", "vs_torch", "vs_fwd_bwd", "times"} <= set(r)
        assert (r["function"], r["dtype"], r["n"]) == ("relu", "float32", 1000)
        assert r["time"] > 0 and r["gb_per_s"] > 0 and r["copy_fraction"] > 0
        # no NumPy expression from y: that row has no NumPy figure
        from_y = r["pass"] == "backward_from_y"
        assert (r["vs_numpy"] is None) if from_y else r["vs_numpy"] > 0
        assert {"fastact@cython", "copy", "copy1"} | (set() if from_y else {"numpy"}) \
            <= set(r["times"])
        assert (r["vs_fwd_bwd"] is not None) == (r["pass"] == "value_and_derivative")
    assert rows[0]["bytes"] == 2 * 1000 * 4 and rows[1]["bytes"] == 3 * 1000 * 4


def test_table_output_and_progress():
    done = run("-m", "fastact", "bench", *TINY, "--pass", "fwd", "vad", "--no-torch")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "relu\n" in out and "legend:" in out
    for column in ("time", "GB/s", "% copy", "vs NumPy", "vs fwd+bwd"):
        assert column in out
    assert "vs torch" not in out and "\n  backward " not in out
    assert "relu done" in done.stderr            # progress: a line per function off a tty


def test_every_backend_in_one_run():
    done = run("-m", "fastact", "bench", *TINY, "--pass", "fwd", "--no-torch", "--format",
               "json", "--backend", "cython", "numba", "c")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert not doc["notes"], doc["notes"]
    rows = doc["results"]
    assert [r["backend"] for r in rows] == ["cython", "numba", "c"]
    for r in rows:
        assert r["time"] > 0 and r["vs_numpy"] > 0 and r["copy_fraction"] > 0
    # NumPy and the copy are timed once and shared by the three rows
    assert len({r["times"]["numpy"] for r in rows}) == 1


BUSY = ["--busy", "--functions", "relu", "--n", "40000", "--dtype", "float32", "--pass", "fwd",
        "--no-torch", "--no-progress", "--min-time", "0.001", "--repeat", "1"]


def test_busy_core_figures_and_the_spinner_is_gone(capsys):
    import fastact
    threads_before = fastact.get_num_threads()
    assert bench.main("bench", BUSY + ["--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    meta, rows = doc["meta"], doc["results"]
    counts = meta["threads"]
    assert counts == sorted({1, threads_before})
    assert meta["busy_core"] in os.sched_getaffinity(0)
    # the spinning process was killed and reaped before the report
    assert not os.path.exists(f"/proc/{meta['spinner_pid']}")
    assert [(r["function"], r["competitor"], r["pass"], r["n"]) for r in rows] == \
        [("relu", "fastact@cython", "forward", 40000)]
    figures = {f"{state} {t}" for state in ("idle", "busy") for t in counts}
    r = rows[0]
    assert set(r["median"]) == set(r["p90"]) == figures
    assert all(0 < r["median"][k] <= r["p90"][k] for k in figures)
    assert r["busy_p90_over_1"] == pytest.approx(
        r["p90"][f"busy {counts[-1]}"] / r["median"]["busy 1"])
    assert fastact.get_num_threads() == threads_before          # restored


def test_busy_core_table_columns():
    done = run("-m", "fastact", "bench", *BUSY)
    assert done.returncode == 0, done.stderr
    counts = sorted({1, os.cpu_count() or 1})
    for t in counts:
        for state in ("idle", "busy"):
            assert f"{state} {t}T " in done.stdout and f"{state} {t}T p90" in done.stdout
    assert f"busy p90 {counts[-1]}T / 1T" in done.stdout and "spinning on CPU" in done.stdout


def test_busy_refuses_the_c_backend(capsys):
    assert bench.main("bench", BUSY + ["--backend", "c"]) == 2
    assert "--busy" in capsys.readouterr().err


def test_help():
    done = run("-m", "fastact", "bench", "--help")
    assert done.returncode == 0 and "--quick" in done.stdout


def test_help_names_the_size_suffixes():
    done = run("-m", "fastact", "bench", "--help")
    assert done.returncode == 0
    for unit, value in bench._UNITS.items():
        assert f"{unit} (2**{value.bit_length() - 1})" in done.stdout


def test_a_size_beyond_the_available_memory_is_refused():
    available = bench._available_memory()
    if available is None:
        pytest.skip("this system does not report its available memory")
    # n elements of at least 4 bytes each: more than the available bytes
    done = run("-m", "fastact", "bench", "--n", str(available), "--functions", "relu",
               "--dtype", "float32", "--no-torch", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--n" in done.stderr
    assert "available" in done.stderr


def test_memory_check_refuses_only_what_does_not_fit():
    case = bc.find_cases(["relu"])[0]
    jobs = [(case, "forward", "float64", 1000), (case, "forward", "float32", 1 << 20)]
    need = max(bench.memory_needed(n, d) for _, _, d, n in jobs)
    bench._check_memory(jobs, need)              # exactly enough
    bench._check_memory(jobs, None)              # unknown: no check
    with pytest.raises(bench._UsageError, match="--n 1M"):
        bench._check_memory(jobs, need - 1)


def test_bad_option_exits_2_with_one_line():
    done = run("-m", "fastact", "bench", "--dtype", "float16")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--dtype" in done.stderr


@pytest.mark.parametrize("argv, words", [
    (["--dtype", "float16"], "float16"),
    (["--functions", "mihs"], "'mish'"),              # a close match is suggested
    (["--n", "lots"], "--n"),
    (["--n", "0"], "--n"),
    (["--format", "xml"], "xml"),
    (["--pass", "sideways"], "sideways"),
    (["--functions", "softmax", "--pass", "vad"], "value_and_derivative"),
    (["--threads", "0"], "--threads"),
    (["--threads", "4096"], "--threads"),
    (["--repeat", "0"], "--repeat"),
    (["--min-time", "-1"], "--min-time"),
    (["--bogus"], "--bogus"),
    (["--n"], "--n"),
])
def test_bad_options(capsys, argv, words):
    assert bench.main("bench", argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("python -m fastact bench: error:") and words in err


@pytest.mark.parametrize("text, n", [("1000", 1000), ("1e6", 10**6), ("1_000", 1000),
                                     ("1k", 1024), ("1M", 1 << 20), ("16M", 1 << 24)])
def test_sizes(text, n):
    assert bench._size(text) == n


def test_quick_selection():
    args = bench._parser().parse_args(["--quick"])
    jobs = bench._jobs(args)
    assert [c.name for c in dict.fromkeys(c for c, *_ in jobs)] == [
        c.name for c in bc.cases() if c.name in bc.QUICK_FUNCTIONS]
    assert set(bc.QUICK_FUNCTIONS) == {c.name for c, *_ in jobs}
    assert {(c.name, p, d, n) for c, p, d, n in jobs if n not in bc.QUICK_SIZES} == \
        set(bc.QUICK_BOUND_ROWS)
    assert all(bc.is_quick(c.name, p, d, n) for c, p, d, n in jobs)
    assert "mish" in bench._parser().format_help()          # --help names the subset
    # options narrow it: no out-of-cache row when the sizes are given
    jobs = bench._jobs(bench._parser().parse_args(["--quick", "--n", "1000"]))
    assert {n for *_, n in jobs} == {1000}


def test_markdown_output(capsys, monkeypatch):
    timed = []

    def fake_time(fn, *timing):
        timed.append(fn)
        return 1e-3 * len(timed)
    monkeypatch.setattr(bc, "time_call", fake_time)
    assert bench.main("bench", TINY + ["--format", "markdown", "--no-progress",
                                           "--no-torch", "--pass", "vad"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0].startswith("| function | pass | dtype | n | time | GB/s | % copy")
    assert table[2].startswith("| `relu` | value_and_derivative | float32 | 1000 | 1 ms |")
    assert len(table) == 3


# ---------------------------------------------------------------------------------------
# the pytest-benchmark suite

def _expected_ids(sizes=bc.SIZES):
    """Every item the suite must have, derived from the registry itself."""
    ids = set()
    for act in registry.ACTIVATIONS:
        passes = bc.passes_of(act)
        for name in act.kernels:
            for pass_ in passes:
                impls = [f"fastact-{b}" for b in ("cython", "numba")]
                impls += ["numpy", "torch", "copy", "copy1"]
                impls += [f"fastact_fwd_bwd-{b}" for b in ("cython", "numba")
                          if pass_ == "value_and_derivative"]
                ids |= {f"{name}-{pass_}-{dtype}-{bc.size_label(n)}-{impl}"
                        for dtype in ("float32", "float64") for n in sizes for impl in impls}
    return ids


def test_suite_has_every_registry_row_and_is_off_by_default():
    done = run("-m", "pytest", "bench", "-v", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    items = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                 if line.startswith("bench/test_benchmarks.py::test_bench["))
    collected = {item.split("[", 1)[1].rstrip("]") for item in items}
    missing = _expected_ids() - collected
    assert not missing, f"{len(missing)} registry rows lack a bench item, e.g. {min(missing)}"
    assert all(status.startswith("SKIPPED") for status in items.values())
    assert set(bc.SIZES) == {1000, 1 << 20, 1 << 24}


def test_suite_runs_and_reports_bandwidth(tmp_path):
    report = tmp_path / "bench.json"
    done = run("-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "--benchmark-enable",
               "-k", "test_bench[relu-forward-float32-1000-fastact-cython] or "
                     "test_bench[relu-forward-float32-1000-fastact-numba] or "
                     "test_bench[relu-forward-float32-1000-numpy]",
               "--benchmark-max-time=0.001", "--benchmark-min-rounds=1",
               f"--benchmark-json={report}")
    assert done.returncode == 0, done.stdout + done.stderr
    benchmarks = json.loads(report.read_text())["benchmarks"]
    assert len(benchmarks) == 3
    assert {b["extra_info"]["backend"] for b in benchmarks} == {"cython", "numba", None}
    for b in benchmarks:
        assert b["group"] == "relu|forward|float32|1000"
        assert b["extra_info"]["bytes"] == 8000 and b["extra_info"]["GB/s"] > 0


# ---------------------------------------------------------------------------------------
# the competitors compute the same thing

def _arrays(result):
    result = result if isinstance(result, tuple) else (result,)
    return [np.asarray(r.numpy() if hasattr(r, "numpy") else r, np.float64) for r in result]


def _assert_same(case, pass_, impl, got, want):
    assert len(got) == len(want), (case.name, pass_, impl)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12,
                                   err_msg=f"{impl} != numpy: {case.name} {pass_}")


def _numpy_pass(pass_):
    """The NumPy pass a pass is checked against: f' from y is f' from x."""
    return "backward" if pass_ == "backward_from_y" else pass_


def test_numpy_covers_every_case():
    """Every case has a NumPy expression for each pass, with finite results; none from y."""
    for case in bc.cases():
        for pass_ in case.passes:
            a = bc.make_inputs(case, "float64", 1000)
            if pass_ == "backward_from_y":
                with pytest.raises(bc.Unavailable, match="from y"):
                    bc.make_runner(case, pass_, "numpy", "float64", 1000, inputs=a)
                continue
            want = _arrays(bc.make_runner(case, pass_, "numpy", "float64", 1000, inputs=a)())
            assert all(np.isfinite(w).all() for w in want), (case.name, pass_)


def test_torch_and_numpy_agree_on_every_case():
    """Every case has a torch call computing the numbers of its NumPy expression.
    Skipped, visibly, where torch cannot be imported (the test extra installs it)."""
    try:
        bc.import_torch()
    except bc.Unavailable as exc:
        pytest.skip(str(exc))
    compared = 0
    for case in bc.cases():
        act = registry.BY_NAME[case.activation]
        for pass_ in case.passes:
            a = bc.make_inputs(case, "float64", 1000)
            want = _arrays(bc.make_runner(case, _numpy_pass(pass_), "numpy", "float64", 1000,
                                          inputs=a)())
            try:
                got = _arrays(bc.make_runner(case, pass_, "torch", "float64", 1000, 1,
                                             inputs=a)())
            except bc.Unavailable:
                # only a row the registry says PyTorch lacks may go without
                assert registry.need(act, "torch_relation") == registry.TORCH_NONE, case.name
                continue
            _assert_same(case, pass_, "torch", got, want)
            compared += 1
    assert compared > 0


# one case of each kind of call: default parameters, a second form, required parameters,
# weights, an axis, a halved axis (the other cases make the same calls)
@pytest.mark.parametrize("name", ["leaky_relu", "gelu_tanh", "threshold", "prelu", "softmin",
                                  "glu", "sigmoid"])
def test_fastact_and_numpy_agree(name):
    (case,) = [c for c in bc.cases() if c.name == name]
    for pass_ in case.passes:
        a = bc.make_inputs(case, "float64", 1000)
        want = _arrays(bc.make_runner(case, _numpy_pass(pass_), "numpy", "float64", 1000,
                                      inputs=a)())
        for impl in [i for i in bc.impls_for(pass_) if i.startswith("fastact")]:
            got = _arrays(bc.make_runner(case, pass_, impl, "float64", 1000, inputs=a)())
            _assert_same(case, pass_, impl, got, want)


def test_cases_follow_the_registry():
    names = [c.name for c in bc.cases()]
    assert names == [k for act in registry.ACTIVATIONS for k in act.kernels]
    for case in bc.cases():
        act = registry.BY_NAME[case.activation]
        # every parameter the registry requires has a benchmark value
        assert {p.name for p in act.params if p.required} <= dict(case.call).keys()
        # the like-for-like pass of torch's y-based backward: where fastact has one
        assert ("backward_from_y" in case.passes) == (
            act.kind == registry.ELEMENTWISE and act.backward_from_y), case.name
    assert bc.find_cases(["gelu"]) == [c for c in bc.cases() if c.activation == "gelu"]
    assert [c.name for c in bc.find_cases(["swish"])] == ["silu"]
    with pytest.raises(KeyError):
        bc.find_cases(["nope"])


def test_bytes_and_copy_bound():
    (glu,) = bc.find_cases(["glu"])
    (relu,) = bc.find_cases(["relu"])
    assert bc.bytes_moved(relu, "backward", "float64", 1 << 20) == 3 * 8 << 20
    assert bc.bytes_moved(glu, "forward", "float32", 1000) == 1.5 * 4 * 1000
    assert bc.shape_for(glu, 1 << 20) == (1024, 1024)
    assert bc.copy_bound({"copy": 2.0, "copy1": 3.0, "fastact": 1.0}) == 2.0
    assert bc.copy_bound({}) is None
    assert [bc.size_label(n) for n in bc.SIZES] == ["1000", "1M", "16M"]


# ---------------------------------------------------------------------------------------
# bench/threshold.py and bench/startup.py

def test_threshold_script():
    done = run("bench/threshold.py", "--functions", "relu", "--sizes", "1024", "65536",
               "--min-time", "0.001", "--repeat", "3")
    assert done.returncode == 0, done.stderr
    assert "relu" in done.stdout and "64k" in done.stdout
    assert "crossover" in done.stdout and "suggested PARALLEL_MIN" in done.stdout


def test_startup_script():
    done = run("bench/startup.py", "--runs", "1", "--function", "relu", "--min-time", "0.001")
    assert done.returncode == 0, done.stderr
    for words in ("import fastact", "first call", "empty cache", "cache hit",
                  "fastact.relu(x, out=y)", "bare serial kernel"):
        assert words in done.stdout


def test_softmax_rows_script():
    pytest.importorskip("torch")
    done = run("bench/softmax_rows.py", "--rows", "8", "24", "--n", "96", "--repeat", "3")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("rows of")]
    # every row length and function, each with both passes and a positive ratio
    assert len(lines) == 4 and {"softmax", "log_softmax"} <= set(" ".join(lines).split())
    for line in lines:
        ratios = [float(word.rstrip("x),")) for word in line.split() if word.endswith("x)")]
        assert len(ratios) == 2 and all(r > 0 for r in ratios), line
    bad = run("bench/softmax_rows.py", "--threads", "0")
    assert bad.returncode != 0 and "--threads" in bad.stderr
