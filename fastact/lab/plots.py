"""The figures of ``plot`` and ``compare`` (matplotlib, Agg, no pyplot).

Each function builds its own ``Figure`` on an Agg canvas and writes a PNG:
no global state (pyplot, rcParams, the backend) is touched, so the lab can
run inside other programs and in parallel tests.
"""
import math

import numpy as np

DPI = 100


def _figure(width, height, dpi=DPI):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi=DPI):
    # Pillow's optimiser makes the PNGs about a fifth smaller
    fig.savefig(path, format="png", dpi=dpi, pil_kwargs={"optimize": True})
    return path


def _style(i):
    """(colour, line style) of the i-th activation: 10 colours x 3 styles."""
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
               "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
    return colours[i % 10], ("-", "--", ":")[(i // 10) % 3]


def _breaks(x, y):
    """y with NaN inserted where it jumps, so a discontinuity is not drawn as
    a steep line."""
    dy = np.abs(np.diff(y))
    scale = np.nanmax(np.abs(y)) if y.size else 0.0
    jump = np.flatnonzero(dy > max(0.05 * scale, 50 * np.nanmedian(dy) + 1e-12))
    if not jump.size:
        return x, y
    x = np.insert(x.astype(float), jump + 1, np.nan)
    y = np.insert(y.astype(float), jump + 1, np.nan)
    return x, y


# -------------------------------------------------------------------- plot --

def _free_corner(ax, x, curves):
    """The legend corner the curves cross least (matplotlib's 'best' is slow
    on dense curves)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    u = (np.asarray(x) - x0) / (x1 - x0)
    best, best_count = "upper left", None
    for loc, (ulo, uhi), (vlo, vhi) in (
            ("upper left", (0, 0.4), (0.68, 1)), ("lower right", (0.6, 1), (0, 0.32)),
            ("upper right", (0.6, 1), (0.68, 1)), ("lower left", (0, 0.4), (0, 0.32)),
            ("center right", (0.6, 1), (0.34, 0.66))):
        count = 0
        for c in curves:
            v = (np.asarray(c) - y0) / (y1 - y0)
            count += int(np.count_nonzero((u >= ulo) & (u <= uhi) & (v >= vlo) & (v <= vhi)))
        if best_count is None or count < best_count:
            best, best_count = loc, count
    return best


def plot_activations(names, lo, hi, path, fa=None, points=2401):
    """f and f' (fastact's derivative kernel) of each activation, one panel each."""
    from fastact.lab.properties import View
    n = len(names)
    ncols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    nrows = math.ceil(n / ncols)
    panel_w, panel_h = (6.4, 4.4) if n == 1 else (5.0, 3.6) if n <= 4 else (3.6, 2.7)
    fig = _figure(panel_w * ncols, panel_h * nrows, dpi=DPI if n <= 12 else 90)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    x = np.linspace(lo, hi, points)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        view = View(name, fa)
        y, d = view.values(x)
        ax.axhline(0, color="0.75", lw=0.8)
        ax.axvline(0, color="0.75", lw=0.8)
        ax.plot(*_breaks(x, y), color="tab:blue", lw=1.8, label="f(x)")
        ax.plot(*_breaks(x, d), color="tab:orange", lw=1.4, ls="--", label="f'(x)")
        ax.set_title(view.label, fontsize=11 if n == 1 else 9)
        ax.set_xlim(lo, hi)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        if k // ncols == nrows - 1 or k + ncols >= n:
            ax.set_xlabel("x", fontsize=9)
        ax.legend(fontsize=8, loc=_free_corner(ax, x, (y, d)), framealpha=0.8)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    if n > 1:
        fig.suptitle("Activations f (solid) and their derivatives f' (dashed, from "
                     "fastact's derivative kernels)", fontsize=11)
    return _save(fig, path, dpi=DPI if n <= 12 else 90)


# ----------------------------------------------------------------- compare --

def _legend_outside(fig, axes, runs):
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8,
               title="activation", title_fontsize=8, ncols=1 if len(runs) <= 14 else 2)


def _log_axis(ax):
    """A log y axis labelled with plain numbers (0.3, not 3 x 10^-1); the
    minor ticks are labelled too when the data span less than a decade."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    lo, hi = ax.dataLim.intervaly
    narrow = lo > 0 and hi / lo < 10
    ax.yaxis.set_minor_formatter(plain if narrow else NullFormatter())


def plot_curves(runs, path, title):
    """Training loss, test loss and test accuracy per epoch, all activations."""
    fig = _figure(13.5, 4.2)
    axes = fig.subplots(1, 3)
    for i, r in enumerate(runs):
        colour, ls = _style(i)
        ep = [h["epoch"] for h in r.history]
        kw = dict(color=colour, ls=ls, lw=1.5, label=r.activation)
        axes[0].plot(ep, [h["train_loss"] for h in r.history], **kw)
        axes[1].plot(ep, [h["test_loss"] for h in r.history], **kw)
        axes[2].plot(ep, [100 * h["test_accuracy"] for h in r.history], **kw)
    from matplotlib.ticker import MaxNLocator
    for ax, ylabel in zip(axes, ("training loss (cross-entropy)", "test loss",
                                 "test accuracy (%)")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes[:2]:
        _log_axis(ax)
    accs = [100 * h["test_accuracy"] for r in runs for h in r.history]
    if accs:
        top = max(accs)
        axes[2].set_ylim(max(0.0, min(np.percentile(accs, 10), top - 5) - 1), min(100, top + 1))
    _legend_outside(fig, axes, runs)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_grad_norms(runs, path, title):
    """Mean |dL/dW| per weight layer in the first epoch (log scale)."""
    fig = _figure(8.5, 4.8)
    ax = fig.subplots()
    n_layers = max((len(r.grad_norms) for r in runs), default=0)
    for i, r in enumerate(runs):
        colour, ls = _style(i)
        g = np.array(r.grad_norms, dtype=float)
        g[~(g > 0)] = np.nan
        ax.plot(np.arange(1, len(g) + 1), g, color=colour, ls=ls, marker="o", ms=3.5,
                lw=1.5, label=r.activation)
    ax.set_yscale("log")
    ax.set_xticks(range(1, n_layers + 1))
    ax.set_xticklabels([str(i) for i in range(1, n_layers)] + ["out"])
    ax.set_xlabel("weight layer (1 = next to the input)")
    ax.set_ylabel("mean |dL/dW| over the first epoch")
    ax.grid(alpha=0.3, which="both")
    _legend_outside(fig, [ax], runs)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_dead_units(runs, path, title):
    """Dead hidden units and saturated activations per activation (last epoch)."""
    fig = _figure(10, max(3.2, 1.3 + 0.3 * len(runs)))
    axes = fig.subplots(1, 2, sharey=True)
    names = [r.activation for r in runs]
    y = np.arange(len(runs))[::-1]
    dead = [100 * (r.dead_fraction or 0.0) for r in runs]
    sat = [100 * (r.saturated_fraction or 0.0) for r in runs]
    colours = [_style(i)[0] for i in range(len(runs))]
    for ax, values, label in ((axes[0], dead, "dead hidden units (%)\n"
                               "(|f'| < 1e-3 on every training example)"),
                              (axes[1], sat, "saturated activations (%)\n"
                               "(unit x example with |f'| < 1e-3)")):
        ax.barh(y, values, color=colours, height=0.7)
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {v:.1f}", va="center", fontsize=7)
        ax.set_xlabel(label, fontsize=9)
        ax.set_xlim(0, max(max(values, default=0) * 1.2, 1.0))
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names, fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)
