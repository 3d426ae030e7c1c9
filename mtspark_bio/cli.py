"""``mtspark-bio``: the command line.

    mtspark-bio forgetting [options]   alternating-task forgetting protocol (main job)
    mtspark-bio protocol NAME --out PATH   a physiology protocol (stdp-window, dendritic-integration,
                                        coincidence, distal-reward, context-selectivity)
    mtspark-bio capacity [options]     ACC and forgetting against the number of tasks
    mtspark-bio atari [options]        one spiking agent learning alternating Atari games
    mtspark-bio sweep PROTOCOL --seeds 0-4 [--grid KEY=V1,V2]... --out DIR   runs in parallel on Dask
    mtspark-bio figures PATH...        regenerate the figures of result files (or sweep folders)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def exit_status(call, figure_of: Path | None = None) -> int:
    """Run ``call()`` for a command: 0 when it returns, 2 with ``error: ...`` on stderr
    when the input is bad (ValueError, or DataError for data sets). After a run that
    returned, draw the figures of the result file ``figure_of`` (None: none)."""
    from mtspark_bio.data import DataError

    try:
        call()
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if figure_of is not None:
        from mtspark_bio.figures import render

        for written in render(figure_of):
            print(f"figure: {written}")
    return 0


def _figures(args) -> int:
    """Draw each result file; exit status 2 (and no figure for it) when a path is missing,
    not an HDF5 file, or not a result file a renderer can draw."""
    import h5py

    from mtspark_bio.figures import render

    status = 0
    for path in args.paths:
        if not path.exists():
            problem = "does not exist"
        elif path.is_dir() and (path / "runs.csv").is_file():  # a sweep folder
            from mtspark_bio.figures.sweep import plot_sweep

            try:
                for written in plot_sweep(path):
                    print(written)
                continue
            except (OSError, ValueError, KeyError) as error:
                problem = f"cannot be drawn: {error}"
        elif path.is_dir():
            problem = "is a folder without runs.csv, so not a sweep folder"
        elif not path.is_file():
            problem = "is not a file"
        elif not h5py.is_hdf5(path):
            problem = "is not an HDF5 file, so not a result file of mtspark-bio"
        else:
            try:
                for written in render(path):
                    print(written)
                continue
            except (OSError, ValueError, KeyError) as error:
                problem = f"cannot be drawn: {error}"
        print(f"error: {path} {problem}", file=sys.stderr)
        status = 2
    return status


def build_parser() -> argparse.ArgumentParser:
    from mtspark_bio.protocols import forgetting

    parser = argparse.ArgumentParser(prog="mtspark-bio", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("forgetting", help="alternating-task forgetting protocol (main job)",
                            description=forgetting.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    forgetting.add_arguments(p)
    p.set_defaults(handler=forgetting.run_from_args)
    from mtspark_bio.protocols import physiology

    p = commands.add_parser("protocol", help="physiology protocols that validate the models",
                            description=physiology.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    physiology.add_arguments(p)
    p.set_defaults(handler=physiology.run_from_args)
    from mtspark_bio.protocols import capacity

    p = commands.add_parser("capacity", help="ACC and forgetting against the number of tasks",
                            description=capacity.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    capacity.add_arguments(p)
    p.set_defaults(handler=capacity.run_from_args)
    from mtspark_bio.protocols import atari

    p = commands.add_parser("atari", help="multi-game Atari agent (closed loop on compiled code)",
                            description=atari.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    atari.add_arguments(p)
    p.set_defaults(handler=atari.run_from_args)
    from mtspark_bio import sweep

    p = commands.add_parser("sweep", help="seeds x settings of a protocol in parallel on Dask, with statistics",
                            description=sweep.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_arguments(p)
    p.set_defaults(handler=sweep.run_from_args)
    p = commands.add_parser("figures", help="regenerate figures from result files or sweep folders")
    p.add_argument("paths", nargs="+", type=Path)
    p.set_defaults(handler=_figures)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
