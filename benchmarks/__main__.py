"""``python -m benchmarks run --suite session|dynamic|bipartite [options]``: one-run benchmark suites.

A thin wrapper over :mod:`sklearn_ubergnn.benchmark` (the same options as ``ubergnn benchmark``);
a full run writes its section of ``benchmarks/RESULTS.md``. ``python -m benchmarks run --help``
explains every option.

``python -m benchmarks gpu [--device cuda|cpu] [--quick]`` runs the CUDA tests and times one epoch
of each system (:mod:`benchmarks.gpu_check`, also ``benchmarks/gpu_check.sh``).
"""
import argparse
import sys
from pathlib import Path

from sklearn_ubergnn.benchmark import add_suite_arguments, run_from_args

from . import gpu_check

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,gpu}")
    run = sub.add_parser("run", help="run one benchmark suite")  # add_suite_arguments describes it
    add_suite_arguments(run, default_results=RESULTS)
    gpu = sub.add_parser("gpu", help="CUDA tests and one timed epoch of each system",
                         description=gpu_check.__doc__.splitlines()[0])
    gpu_check.add_arguments(gpu)
    args = parser.parse_args(argv)
    if args.command == "gpu":
        return gpu_check.run_from_args(args, prog="python -m benchmarks gpu", argv=argv[1:])
    return run_from_args(args, prog="python -m benchmarks", argv=argv)


if __name__ == "__main__":
    sys.exit(main())
