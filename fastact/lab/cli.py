"""``python -m fastact list | plot | compare``: parsing and the three commands.

Every user error (a bad option, an unknown activation, missing data or a
missing optional dependency) is one line on stderr and exit status 2; no
traceback.  The heavy imports (matplotlib, scikit-learn, tqdm) happen only
after the options are checked, and only in the commands that need them.
"""
import argparse
import math
import os
import sys
import textwrap
import time

from fastact import registry

DATASETS = ("digits", "fashion-mnist")
# digits: the eleven classic runs take ~8 s on 2 cores with Numba's kernels
# cached, ~13 s on the first run, which compiles them; fashion-mnist: ~3.5 s an epoch per activation, so the
# eleven take ~10 minutes
DEFAULT_EPOCHS = {"digits": 20, "fashion-mnist": 15}
DEFAULT_HIDDEN = (256, 128)
DEPTH_WIDTH = 128          # width of each layer for --depth without --hidden
DEFAULT_OUT = "lab-results"


class UsageError(Exception):
    """A problem with what the user asked for: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _extra_missing(module):
    return UsageError(f"this command needs {module}, from the lab extra: "
                      f"pip install 'fastact[lab]'")


def _require(*modules):
    import importlib
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            raise _extra_missing(m) from None


# ------------------------------------------------------------ arguments --

def _number(convert, accept, expected):
    """An argparse type: ``convert`` the text, keep it if ``accept``s it."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_seed = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a positive number")
_finite_float = _number(float, math.isfinite, "a finite number")


def _widths(text):
    parts = [p.strip() for p in text.split(",")]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 256,128, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    return widths


def resolve_activations(items, default=None):
    """Registry names from a list of names, aliases, 'classic' or 'all'
    (comma-separated or not), in order, without repeats."""
    from fastact.lab.mlp import CLASSIC, resolve_name
    if not items:
        return list(default or ())
    names = []
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                expanded = list(registry.names())
            elif part == "classic":
                expanded = list(CLASSIC)
            else:
                try:
                    expanded = [resolve_name(part).name]
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
            names += [n for n in expanded if n not in names]
    if not names:
        raise UsageError("no activation given")
    return names


# ---------------------------------------------------------------- list --

def _list_parser():
    p = _Parser(prog="python -m fastact list",
                description="A table of every activation: formula, range, zero-centred, "
                            "monotonic, smoothness, bounds, max |f'| and where, saturation "
                            "zones, where it fits, and its measured cost. All numbers are "
                            "measured with fastact's own kernels.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="activations to show (default: all)")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                   help="output format (default: table)")
    p.add_argument("--no-cost", action="store_true",
                   help="skip the timing (ns/element at n = 1M)")
    return p


def run_list(args):
    from fastact.lab import properties, report
    names = resolve_activations(args.names, default=registry.names())
    rows = properties.table(names, cost=not args.no_cost)
    sys.stdout.write(report.format_list(rows, args.format))
    if args.format == "json":
        sys.stdout.write("\n")
    return 0


# ---------------------------------------------------------------- plot --

def _plot_parser():
    p = _Parser(prog="python -m fastact plot",
                description="Plot activations f and their derivatives f' (from fastact's "
                            "derivative kernels) into a PNG.")
    # nargs="*" so that no NAME gets our own message (usage and 'all'), not
    # argparse's bare "the following arguments are required"
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="activations to plot, or 'all' for a grid of every one")
    p.add_argument("--range", nargs=2, type=_finite_float, default=(-6.0, 6.0),
                   metavar=("LO", "HI"), help="x range (default: -6 6)")
    p.add_argument("--out", metavar="FILE.png",
                   help=f"output file (default: {DEFAULT_OUT}/NAME.png, or "
                        f"{DEFAULT_OUT}/activations.png for several)")
    p.add_argument("--force", action="store_true",
                   help="overwrite the output file if it exists")
    return p


def run_plot(args):
    if not args.names:
        usage = " ".join(_plot_parser().format_usage().split())
        raise UsageError(f"name at least one activation, or 'all' for every one "
                         f"(python -m fastact list shows them); {usage}")
    lo, hi = args.range
    if not lo < hi:
        raise UsageError(f"--range: LO must be less than HI, got {lo:g} {hi:g}")
    names = resolve_activations(args.names)
    # the default goes to the lab's git-ignored folder, not the current one
    out = args.out or os.path.join(
        DEFAULT_OUT, f"{names[0]}.png" if len(names) == 1 else "activations.png")
    if not out.lower().endswith(".png"):
        raise UsageError(f"--out: the plot is a PNG, so the file name must end in .png, "
                         f"got {out!r}")
    existed = os.path.exists(out)
    if existed and not args.force:
        raise UsageError(f"{out} exists; pass --force to overwrite it, or --out NEW.png")
    parent = os.path.dirname(os.path.abspath(out))
    if args.out is None:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {parent}: {exc.strerror}") from None
    if not os.path.isdir(parent):
        raise UsageError(f"--out: folder {parent} does not exist")
    _require("matplotlib")
    from fastact.lab import plots
    plots.plot_activations(names, lo, hi, out)
    replaced = " (replaced the old file)" if existed else ""
    print(f"wrote {out}{replaced} "
          f"({', '.join(names) if len(names) <= 6 else f'{len(names)} activations'})")
    return 0


# ------------------------------------------------------------- compare --

MIN_BAR_COLUMNS = 40       # narrower than this, a bar is all wrapping


def _terminal_too_narrow(stream):
    """True when the terminal reports a width too small for a progress bar.

    Some terminals (and COLUMNS=0) report zero columns; tqdm then prints a
    blank line per update instead of a bar.  An unknown width is not narrow:
    tqdm picks its own default then.
    """
    columns = None
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return False
    return columns < MIN_BAR_COLUMNS


def _compare_parser():
    from fastact.lab.mlp import CLASSIC
    p = _Parser(
        prog="python -m fastact compare",
        description="Train the same multilayer perceptron once per activation (NumPy "
                    "matmuls, fastact activations, softmax cross-entropy) and compare "
                    "accuracy, loss, speed, dead and saturated units and per-layer "
                    "gradients. Writes results.json, results.csv, results.md and PNGs.")
    p.add_argument("--activations", nargs="+", metavar="NAME",
                   help="activations to compare, space- or comma-separated; 'classic' for "
                        f"the default eleven ({', '.join(CLASSIC)}), 'all' for every "
                        "registry activation")
    p.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="digits: scikit-learn's bundled 8x8 digits (1,797 images); "
                        "fashion-mnist: the four IDX files (default: digits)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder with Fashion-MNIST's train-images-idx3-ubyte, "
                        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                        "t10k-labels-idx1-ubyte (each .gz or raw); default: $FASTACT_DATA, "
                        "then Debian's dataset-fashion-mnist folder")
    p.add_argument("--hidden", type=_widths, metavar="W1,W2,...",
                   help="hidden layer widths (default: 256,128)")
    p.add_argument("--depth", type=_positive_int, metavar="N",
                   help=f"number of hidden layers: N copies of the single --hidden width, "
                        f"or of {DEPTH_WIDTH} without --hidden")
    p.add_argument("--epochs", type=_positive_int,
                   help="training epochs (default: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_EPOCHS.items()) + ")")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="minibatch size (default: 32)")
    p.add_argument("--lr", type=_positive_float,
                   help="learning rate (default: 1e-3 for adam, 0.01 for sgd)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="adam, or sgd with momentum 0.9 (default: adam)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the initial weights and the batch order (default: 0)")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                   help=f"output folder (default: {DEFAULT_OUT})")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _hidden_layers(args):
    if args.depth is None:
        return args.hidden or DEFAULT_HIDDEN
    if args.hidden is None:
        return (DEPTH_WIDTH,) * args.depth
    if len(args.hidden) == 1:
        return args.hidden * args.depth
    if len(args.hidden) == args.depth:
        return args.hidden
    raise UsageError(f"--hidden gives {len(args.hidden)} widths but --depth is {args.depth}: "
                     f"give one width (repeated) or {args.depth}")


def compare_config(args):
    """(train.Config, activation names) from parsed options, checked."""
    from fastact.lab.mlp import CLASSIC
    from fastact.lab.train import Config
    if args.data_dir is not None and args.dataset != "fashion-mnist":
        raise UsageError("--data-dir applies to --dataset fashion-mnist only")
    names = resolve_activations(args.activations, default=CLASSIC)
    config = Config(hidden=tuple(_hidden_layers(args)),
                    epochs=args.epochs or DEFAULT_EPOCHS[args.dataset],
                    batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                    seed=args.seed)
    return config, names


def run_compare(args, argv=()):
    config, names = compare_config(args)
    _require("matplotlib", "tqdm")
    if args.dataset == "digits":
        _require("sklearn")
    import numpy as np

    import fastact
    from fastact.lab import data as data_mod
    from fastact.lab import plots, report
    from fastact.lab.train import steps_per_epoch, train_one
    from tqdm import tqdm

    try:
        data = data_mod.load(args.dataset, args.data_dir)
    except data_mod.DataError as exc:
        raise UsageError(str(exc)) from None
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {args.out}: {exc.strerror}") from None

    hidden = ",".join(map(str, config.hidden))
    summary = (f"{data.name}: {len(data.x_train):,} training / {len(data.x_test):,} test "
               f"images, {data.n_features} features, {data.n_classes} classes; MLP "
               f"{data.n_features}-{hidden.replace(',', '-')}-{data.n_classes}, "
               f"{config.optimizer} lr {config.effective_lr:g}, batch {config.batch_size}, "
               f"{config.epochs} epochs, seed {config.seed}")
    print(textwrap.fill(summary, report.WIDTH), flush=True)
    steps = config.epochs * steps_per_epoch(len(data.x_train), config.batch_size)
    width = max(len(n) for n in names)
    runs = []
    started = time.perf_counter()
    no_bar = args.no_progress or _terminal_too_narrow(sys.stderr)
    for name in names:
        bar = tqdm(total=steps, desc=f"{name:>{width}}", unit="step", file=sys.stderr,
                   disable=no_bar, leave=True, dynamic_ncols=True,
                   mininterval=0.5)

        def on_epoch(record, bar=bar):
            bar.set_postfix_str(f"test acc {100 * record['test_accuracy']:.2f}%, "
                                f"loss {record['test_loss']:.4f}", refresh=False)
        try:
            result = train_one(name, data, config, progress=bar.update, on_epoch=on_epoch)
        finally:
            bar.close()
        runs.append(result)
    total = time.perf_counter() - started

    widths = config.hidden
    layers = (f"{len(widths)} x {widths[0]}" if len(widths) > 2 and len(set(widths)) == 1
              else hidden)
    title = (f"{data.name}, MLP hidden {layers}, {config.optimizer} lr "
             f"{config.effective_lr:g}, batch {config.batch_size}, {config.epochs} epochs, "
             f"seed {config.seed}")
    command = "python -m fastact compare " + " ".join(argv)
    doc = report.results_document(
        data.name, dict(config.as_dict(), activations=names, dtype="float32"), runs,
        data_info={"source": data.source, "n_train": len(data.x_train),
                   "n_test": len(data.x_test), "n_features": data.n_features,
                   "classes": list(data.classes)},
        extra={"command": command.strip(), "total_seconds": total,
               "fastact_version": fastact.__version__, "numpy_version": np.__version__,
               "threads": fastact.get_num_threads()})
    out = args.out
    files = {
        "results.json": lambda p: report.write_json(p, doc),
        "results.csv": lambda p: report.write_csv(p, runs),
        "results.md": lambda p: report.write_markdown(
            p, f"fastact compare: {data.name}", f"`{command.strip()}`\n\n{summary}. "
               f"Total time {total:.0f} s.", runs),
        "curves.png": lambda p: plots.plot_curves(runs, p, f"Loss and accuracy\n{title}"),
        "grad_norms.png": lambda p: plots.plot_grad_norms(
            runs, p, f"Per-layer gradient magnitude, first epoch\n{title}"),
        "dead_units.png": lambda p: plots.plot_dead_units(
            runs, p, f"Dead and saturated hidden units, last epoch\n{title}"),
    }
    for fname, write in files.items():
        write(os.path.join(out, fname))
    print()
    sys.stdout.write(report.format_compare(runs))
    print("\n" + textwrap.fill(f"total {total:.1f} s; wrote {', '.join(files)} to {out}",
                              report.WIDTH, break_on_hyphens=False))
    return 0


# ---------------------------------------------------------------- main --

_COMMANDS = {"list": (_list_parser, run_list), "plot": (_plot_parser, run_plot),
             "compare": (_compare_parser, run_compare)}


def main(command, argv):
    """Run one lab command; returns the exit status."""
    prog = f"fastact {command}"
    try:
        make_parser, run = _COMMANDS[command]
        args = make_parser().parse_args(list(argv))
        if command == "compare":
            return run(args, argv)
        return run(args)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
