"""``mtspark-bio``: the command line.

    mtspark-bio forgetting [options]   alternating-task forgetting protocol (main job)
    mtspark-bio protocol NAME --out PATH   a physiology protocol (stdp-window, dendritic-integration,
                                        coincidence, distal-reward, context-selectivity)
    mtspark-bio capacity [options]     ACC and forgetting against the number of tasks
    mtspark-bio atari [options]        one spiking agent learning alternating Atari games
    mtspark-bio sweep PROTOCOL --seeds 0-4 [--grid KEY=V1,V2]... --out DIR   runs in parallel on Dask
    mtspark-bio figures PATH...        regenerate the figures of result files (or sweep folders)
    mtspark-bio nwb RESULT.h5 --out FILE.nwb   a result file's spikes and presentations as NWB
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def exit_status(call, figure_of: Path | None = None) -> int:
    """Run ``call()`` for a command: 0 when it returns, 2 with ``error: ...`` on stderr
    when the input is bad (ConfigError, with the options named as flags, or another
    ValueError). After a run that returned, draw the figures of the result file
    ``figure_of`` (None: none)."""
    from mtspark_bio.errors import ConfigError

    try:
        call()
    except ConfigError as error:
        print(f"error: {error.command_line()}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if figure_of is not None:
        from mtspark_bio.figures import render

        for written in render(figure_of):
            print(f"figure: {written}")
    return 0


def _figure_of(args) -> Path | None:
    return None if args.no_figure else args.out


# Each command builds the typed configuration of mtspark_bio.front.api from its options
# (mtspark_bio.front.options) and runs it there: the command line adds nothing else.

def _forgetting(args) -> int:
    from mtspark_bio.front import api
    from mtspark_bio.front.options import forgetting_config

    return exit_status(lambda: api.run_forgetting(
        api.ForgettingConfig.from_protocol_config(forgetting_config(args)), args.out, resume=args.resume,
        build_dir=args.build_dir, log=print), figure_of=_figure_of(args))


def _atari(args) -> int:
    from mtspark_bio.front import api
    from mtspark_bio.front.options import atari_config

    return exit_status(lambda: api.run_atari(
        api.AtariConfig.from_protocol_config(atari_config(args)), args.out, resume=args.resume,
        build_dir=args.build_dir, log=print), figure_of=_figure_of(args))


def _capacity(args) -> int:
    from mtspark_bio.front import api
    from mtspark_bio.front.options import capacity_config

    return exit_status(lambda: api.run_capacity(
        api.CapacityConfig.from_protocol_config(capacity_config(args)), args.out, resume=args.resume,
        log=print), figure_of=_figure_of(args))


def _protocol(args) -> int:
    from mtspark_bio.front import api

    return exit_status(lambda: api.run_protocol(
        api.ProtocolConfig(args.name, device=args.device, seed=args.seed, preset=args.preset), args.out,
        log=print), figure_of=_figure_of(args))


def _figures(args) -> int:
    """Draw each result file; exit status 2 (and no figure for it) when a path is missing,
    not an HDF5 file, or not a result file a renderer can draw."""
    import h5py

    from mtspark_bio.figures import render

    if args.combine is not None:
        from mtspark_bio.protocols.distal_reward import combine

        return exit_status(lambda: combine(args.paths, args.combine), figure_of=args.combine)
    if args.over_seeds is not None:
        from mtspark_bio.figures.atari_seeds import plot_atari_seeds

        return exit_status(lambda: print("\n".join(str(p) for p in plot_atari_seeds(args.paths, args.over_seeds))))
    status = 0
    for path in args.paths:
        if not path.exists():
            problem = "does not exist"
        elif path.is_dir() and (path / "runs.csv").is_file():  # a sweep folder
            from mtspark_bio.figures.sweep import plot_sweep

            problem = _draw(plot_sweep, path)
        elif path.is_dir():
            problem = "is a folder without runs.csv, so not a sweep folder"
        elif not path.is_file():
            problem = "is not a file"
        elif not h5py.is_hdf5(path):
            problem = "is not an HDF5 file, so not a result file of mtspark-bio"
        else:
            problem = _draw(render, path)
        if problem is not None:
            print(f"error: {path} {problem}", file=sys.stderr)
            status = 2
    return status


def _draw(draw, path) -> str | None:
    """Print the files ``draw(path)`` writes; None when it drew, else what went wrong."""
    from mtspark_bio.errors import ResultFileError

    try:
        for written in draw(path):
            print(written)
    except ResultFileError as error:  # most say "<path> is ...": no need to name the file twice
        message = str(error)
        return message.removeprefix(f"{path} ") if message.startswith(f"{path} ") else f"cannot be drawn: {message}"
    except (OSError, ValueError, KeyError) as error:
        return f"cannot be drawn: {error}"
    return None


#: What ``mtspark-bio --help`` and each command's ``--help`` tell a user (the modules'
#: docstrings are for developers: methods, citations, reST markup).
USER_HELP = {
    "mtspark-bio": """Spiking networks with active dendrites that learn several tasks one after another,
simulated with Brian2. Each command runs an experiment, writes its results to one HDF5
file and draws its figure next to it. Run "mtspark-bio COMMAND --help" for a command's
options.

example: mtspark-bio forgetting --out results/forgetting.h5""",
    "forgetting": """The main experiment: a network of dendritic neurons and the same network of point
neurons learn five image-classification tasks one after another (permuted digits by
default) and are tested on every task after every block. Prints and stores the accuracy
matrices and the continual-learning metrics (ACC, BWT, FWT, forgetting); an interrupted
run continues with --resume.

example: mtspark-bio forgetting --seed 1 --n-tasks 5 --out results/forgetting-seed1.h5""",
    "protocol": """A physiology experiment that checks one property of the neuron and synapse models
against published measurements; prints the measured and the published numbers.

example: mtspark-bio protocol stdp-window --out results/stdp.h5""",
    "capacity": """Runs the main experiment for several numbers of tasks (the hidden layer grows with
them) and shows how accuracy and forgetting change with the number of tasks.

example: mtspark-bio capacity --task-counts 2,5,10 --out results/capacity.h5""",
    "atari": """Spiking agents learn to play Atari games in alternation (a dendritic agent, a point
agent, a random baseline); each game's score is measured after every block. The network
runs compiled, talking to the games in this process.

example: mtspark-bio atari --games pong,breakout --frames 20000 --out results/atari.h5""",
    "figures": """Draws the figures of result files again from the files alone (PDF and PNG next to
each file), e.g. after changing the figure code.

example: mtspark-bio figures results/forgetting.h5 results/stdp.h5""",
    "nwb": """Writes the spikes of a forgetting run as a Neurodata Without Borders (NWB) file, the
format neuroscience tools read and archives such as DANDI take: every neuron's spike
times, and with --record-spikes all every presentation (task, label, train or test,
each network's answer) and the task switches. Run the experiment with
--record-spikes all to keep every spike; the default keeps a 2 s sample.

example: mtspark-bio nwb results/forgetting.h5 --out results/forgetting.nwb""",
}


def _version() -> str:
    import importlib.metadata

    return importlib.metadata.version("mtspark-bio")


def _user_parser(commands, name: str, help: str):
    return commands.add_parser(name, help=help, description=USER_HELP[name],
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    from mtspark_bio.front import options
    from mtspark_bio.protocols import physiology

    parser = argparse.ArgumentParser(prog="mtspark-bio", description=USER_HELP["mtspark-bio"],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = _user_parser(commands, "forgetting", "learn tasks one after another, measure forgetting (main experiment)")
    options.add_forgetting_arguments(p)
    p.set_defaults(handler=_forgetting)
    p = commands.add_parser("protocol", help="physiology protocols that validate the models",
                            description=USER_HELP["protocol"] + "\n\nprotocols:\n" + "\n".join(
                                f"  {name:<23} {measures}" for name, measures in physiology.measures().items()),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_physiology_arguments(p)
    p.set_defaults(handler=_protocol)
    p = _user_parser(commands, "capacity", "accuracy and forgetting against the number of tasks")
    options.add_capacity_arguments(p)
    p.set_defaults(handler=_capacity)
    p = _user_parser(commands, "atari", "spiking agents learning alternating Atari games")
    options.add_atari_arguments(p)
    p.set_defaults(handler=_atari)
    from mtspark_bio.front import sweep

    p = commands.add_parser("sweep", help="seeds x settings of a protocol in parallel on Dask, with statistics",
                            description=sweep.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_arguments(p)
    p.set_defaults(handler=sweep.run_from_args)
    from mtspark_bio import nwb

    p = _user_parser(commands, "nwb", "a result file's spikes and presentations as an NWB file")
    p.add_argument("result", type=Path, help="result file of mtspark-bio forgetting (HDF5) that holds spikes")
    p.add_argument("--out", type=Path, required=True, help="NWB file to write (must not exist)")
    p.set_defaults(handler=lambda args: exit_status(lambda: print(nwb.convert(args.result, args.out))))
    p = _user_parser(commands, "figures", "regenerate figures from result files or sweep folders")
    p.add_argument("paths", nargs="+", type=Path, help="result files (.h5) or sweep folders")
    p.add_argument("--combine", type=Path, default=None, metavar="OUT.h5",
                   help="write distal-reward result files of several seeds as one file OUT.h5 "
                        "and draw the time course over seeds")
    p.add_argument("--over-seeds", type=Path, default=None, metavar="OUT",
                   help="draw Atari result files of one setting's seeds as learning curves over seeds "
                        "(OUT.pdf and OUT.png)")
    p.set_defaults(handler=_figures)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # imports Brian2, which routes warnings to its log
    unverified = []
    with warnings.catch_warnings():
        warnings.showwarning = _collect_result_warnings(warnings.showwarning, unverified)
        status = args.handler(args)
    if status == 0:  # a command that failed says only why
        for message in dict.fromkeys(unverified):
            print(f"warning: {message}", file=sys.stderr)
    return status


def _collect_result_warnings(show, collected: list):
    """``show`` (warnings.showwarning), except that a result file's warning (read, but
    not verifiable) is appended to ``collected`` as its message."""
    from mtspark_bio.readers import UnverifiedResultWarning

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UnverifiedResultWarning):
            collected.append(str(message))
        else:
            show(message, category, filename, lineno, file, line)

    return show_warning


if __name__ == "__main__":
    sys.exit(main())
