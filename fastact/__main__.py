"""``python -m fastact COMMAND``: the command-line entry point.

Each command lives in its own module, imported only when asked for, so that
``python -m fastact bench`` does not pull in matplotlib and ``list`` does not
pull in pytest-benchmark.
"""
import sys

_COMMANDS = {
    "bench": ("fastact.cli.bench", "time every activation against NumPy, torch and the copy bound"),
    "list": ("fastact.lab.cli", "table of every activation and its properties"),
    "plot": ("fastact.lab.cli", "plot activations and their derivatives"),
    "compare": ("fastact.lab.cli", "train the same MLP with each activation and compare"),
    "info": ("fastact.cli.info", "version, backends, SIMD level, threads, build flags"),
}


def _usage():
    lines = ["usage: python -m fastact COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in _COMMANDS.items()]
    lines.append("\n'python -m fastact COMMAND --help' describes a command's options.")
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in _COMMANDS:
        print(f"fastact: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    import importlib
    module = importlib.import_module(_COMMANDS[command][0])
    return module.main(command, rest)


if __name__ == "__main__":
    sys.exit(main())
