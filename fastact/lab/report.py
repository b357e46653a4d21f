"""Tables and files: ``list``'s three formats and ``compare``'s results.

``compare`` writes, in its output folder:

* ``results.json``: ``{"dataset", "config", "data", "runs": [...], ...}``; each
  run has ``activation, test_accuracy, train_accuracy, test_loss, train_loss,
  epoch_seconds, dead_fraction, saturated_fraction, grad_norms, history``
  (one record per epoch) and more (see train.RunResult).  Accuracies and
  fractions are fractions (0..1); a value that is not finite (a diverged run)
  is written as null.
* ``results.csv``: one row per activation (no history).
* ``results.md``: the markdown table printed at the end.
"""
import csv
import json
import math
import textwrap

from fastact.lab.properties import _num

# ------------------------------------------------------------------- list --

_LIST_COLUMNS = (
    # (header, key or function of the row)
    ("activation", "name"),
    ("range", "range"),
    ("zero-centred", "zero_centred"),
    ("monotonic", "monotonic"),
    ("smoothness", lambda r: r["smoothness"] + (
        " at " + ", ".join(_num(p) for p in r["smoothness_at"]) if r["smoothness_at"] else "")),
    ("bounded", "bounded"),
    ("max |f'|", lambda r: _num(r["max_abs_derivative"])),
    ("where", "max_abs_derivative_at"),
    ("saturates (|f'| < 1e-3)", "saturation"),
)
# the text table leaves these out (they make it ~190 columns wide); each
# activation's lines under the table carry them instead
_WIDE = ("smoothness", "where", "saturates (|f'| < 1e-3)")
WIDTH = 100                # what the text outputs fit in
_COST_COLUMNS = (
    ("ns/element", lambda r: f"{r['ns_per_element']:.2f}"),
    ("x relu", lambda r: f"{r['vs_relu']:.1f}"),
)


def _cell(row, key):
    return key(row) if callable(key) else str(row[key])


def _columns(rows):
    cols = list(_LIST_COLUMNS)
    if rows and "ns_per_element" in rows[0]:
        cols += list(_COST_COLUMNS)
    return cols


def _text_table(headers, cells, right=()):
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values):
        return "  ".join((v.rjust(w) if i in right else v.ljust(w))
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def _md_table(headers, cells, right=()):
    def esc(v):
        return v.replace("|", "\\|")
    out = ["| " + " | ".join(esc(h) for h in headers) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(esc(v) for v in c) + " |" for c in cells]
    return "\n".join(out)


def _list_notes(rows):
    notes = [
        "Measured with fastact's own value_and_derivative kernels (float64) on a grid of "
        "step 1e-3 over [-100, 100]; 'where' and the saturation zones are to 2 decimals.",
    ]
    odd = [f"{r['name']} as {r['evaluated_as']}" for r in rows
           if r["evaluated_as"] != r["name"]]
    if odd:
        notes.append("Evaluated as: " + "; ".join(odd) + ".")
    notes.append("Saturates: where |f'| < 1e-3. Zero-centred: 'yes' when the mean of f(z), "
                 "z ~ N(0, 1), is within 0.1 standard deviations of 0, 'partly' when f takes "
                 "both signs but its mean is off 0.")
    if rows and "ns_per_element" in rows[0]:
        notes.append("Cost: forward pass, float32, n = 1M (1000 x 1000 along an axis), "
                     "one thread, median of 15 calls; +-20% run to run.")
    return notes


def _code(text):
    """A markdown code span that may itself hold backticks."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def format_list(rows, fmt):
    """``list``'s output in 'table', 'markdown' or 'json'."""
    if fmt == "json":
        # JSON has no infinity: an unbounded range end is null (see "range")
        return json.dumps(_finite({"notes": _list_notes(rows), "activations": rows}),
                          indent=2, default=_json_default, allow_nan=False)
    cols = _columns(rows)
    headers = [h for h, _ in cols]
    cells = [[_cell(r, k) for _, k in cols] for r in rows]
    right = {headers.index(h) for h in ("max |f'|", "ns/element", "x relu") if h in headers}
    if fmt == "markdown":
        table = _md_table(headers, cells, right)
        about = _md_table(["activation", "formula", "where it fits"],
                          [[r["name"], _code(r["formula"]), r["advice"]] for r in rows])
        notes = "\n".join(f"- {n}" for n in _list_notes(rows))
        return f"{table}\n\n{notes}\n\n{about}\n"
    keep = [i for i, h in enumerate(headers) if h not in _WIDE]
    table = _text_table([headers[i] for i in keep], [[c[i] for i in keep] for c in cells],
                        {keep.index(i) for i in right})
    lines = [table, ""]
    lines += textwrap.wrap(" ".join(_list_notes(rows)), WIDTH)
    lines.append("")
    width = max(len(r["name"]) for r in rows) if rows else 0
    indent = " " * (width + 2)
    for r, c in zip(rows, cells):
        lines += textwrap.wrap(r["formula"], WIDTH, initial_indent=f"{r['name']:<{width}}  ",
                               subsequent_indent=indent, break_on_hyphens=False)
        wide = "; ".join(f"{headers[i]}: {c[i]}" for i in range(len(headers))
                         if headers[i] in _WIDE)
        for text in (wide, "fits: " + r["advice"]):
            lines += textwrap.wrap(text, WIDTH, initial_indent=indent,
                                   subsequent_indent=indent)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- compare --

def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def results_document(dataset, config, runs, *, data_info=None, extra=None):
    doc = {"dataset": dataset, "config": config, "data": data_info or {},
           "runs": [r.as_dict() for r in runs]}
    doc.update(extra or {})
    return _finite(doc)


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=_json_default, allow_nan=False)
        f.write("\n")


CSV_FIELDS = ("activation", "test_accuracy", "train_accuracy", "test_loss", "train_loss",
              "epoch_seconds", "dead_fraction", "saturated_fraction", "init", "diverged")


def write_csv(path, runs):
    n_layers = max((len(r.grad_norms) for r in runs), default=0)
    grad_cols = [f"grad_norm_layer{i + 1}" for i in range(n_layers)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(CSV_FIELDS) + grad_cols + ["prelu_slope_mean"])
        for r in runs:
            d = r.as_dict()
            row = [_csv_value(d[k]) for k in CSV_FIELDS]
            row += [_csv_value(g) for g in r.grad_norms] + [""] * (n_layers - len(r.grad_norms))
            slopes = r.prelu_slopes
            row.append(";".join(f"{s['mean']:.4f}" for s in slopes) if slopes else "")
            w.writerow(row)


def _csv_value(v):
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return str(v)


def _pct(v, digits=1):
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:.{digits}f}%"


def _grad_ratio(r):
    g = r.grad_norms
    if len(g) < 2 or not g[0] > 0 or not math.isfinite(g[0]) or not math.isfinite(g[-2]):
        return "-"
    # first hidden layer vs the last hidden layer (the output layer is separate)
    return f"{g[0]:.2g} / {g[-2]:.2g}" if len(g) > 2 else f"{g[0]:.2g}"


def _note(r):
    notes = []
    if r.diverged:
        notes.append("diverged")
    if r.prelu_slopes:
        notes.append("slopes " + ", ".join(f"{s['mean']:.2f}" for s in r.prelu_slopes)
                     + " (mean per layer, init 0.25)")
    return "; ".join(notes)


# an epoch of digits takes a few hundredths of a second: milliseconds show
# the differences that seconds to 2 decimals hid
COMPARE_HEADERS = ("activation", "test acc", "train acc", "test loss", "ms/epoch",
                   "dead units", "saturated", "|grad| layer 1 / last hidden", "notes")


def _compare_cells(runs):
    return [[r.activation, _pct(r.test_accuracy, 2), _pct(r.train_accuracy, 2),
             _num(r.test_loss), f"{1000 * r.epoch_seconds:.1f}", _pct(r.dead_fraction),
             _pct(r.saturated_fraction), _grad_ratio(r), _note(r)] for r in runs]


def format_compare(runs, fmt="table"):
    cells = _compare_cells(runs)
    right = {1, 2, 3, 4, 5, 6}
    if fmt == "markdown":
        return _md_table(list(COMPARE_HEADERS), cells, right) + "\n"
    # the terminal table: a shorter gradient header, and the free-text notes
    # as wrapped lines under it, so that it fits WIDTH columns
    headers = list(COMPARE_HEADERS[:-2]) + ["|grad| 1st / last"]
    lines = [_text_table(headers, [c[:-1] for c in cells], right)]
    notes = [(c[0], c[-1]) for c in cells if c[-1]]
    if notes:
        lines.append("")
    for name, note in notes:
        lines += textwrap.wrap(f"{name}: {note}", WIDTH, subsequent_indent="  ")
    return "\n".join(lines) + "\n"


def write_markdown(path, title, config_line, runs):
    with open(path, "w") as f:
        f.write(f"# {title}\n\n{config_line}\n\n")
        f.write(format_compare(runs, "markdown"))
