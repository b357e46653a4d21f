"""Write the README's table of activations from the registry.

    python tools/update_readme.py          # rewrite the table in README.md
    python tools/update_readme.py --check  # exit 1 if the table is stale

The table sits between the markers ``<!-- functions:start -->`` and
``<!-- functions:end -->``; everything else in the README is hand-written.
"""
import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastact import registry  # noqa: E402  (plain data)

README = ROOT / "README.md"
START, END = "<!-- functions:start -->", "<!-- functions:end -->"


def _signature(act):
    if act.kind == registry.PER_CHANNEL:
        return "prelu(x, weight, axis=1)"
    if act.kind in (registry.ALONG_AXIS, registry.GATED):
        return f"{act.name}(x, axis=-1)"
    params = "".join(
        f", {p.name}" + ("" if p.required else f"={p.default!r}") for p in act.params)
    return f"{act.name}(x{params})"


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table():
    rows = ["| call | f(x) | f'(x) | backward from y | at kinks |",
            "|---|---|---|---|---|"]
    for act in registry.ACTIVATIONS:
        alias = f" (alias `{'`, `'.join(act.aliases)}`)" if act.aliases else ""
        rows.append(f"| `{_signature(act)}`{alias} | {_cell(act.formula)} | "
                    f"{_cell(act.derivative)} | {'yes' if act.backward_from_y else ''} | "
                    f"{_cell(act.kinks)} |")
    return "\n".join(rows)


def render(text):
    try:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}") from None
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = parser.parse_args(argv)
    current = README.read_text()
    new = render(current)
    if args.check:
        if new != current:
            print("README.md's table is stale: run python tools/update_readme.py",
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
