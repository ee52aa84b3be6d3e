"""Wall time as users see it, idle and beside a busy process: torch's old thread default against ``n_jobs=None``.

Every case runs as a fresh command, the way the README runs it, once with ``--threads -1`` (every
usable CPU: what torch did before the estimators had ``n_jobs``, "before") and once with the
estimators' defaults ("after"), first on an idle machine, then with one other process spinning on a
core (``python -c "while True: pass"``, the "busy" rows: a notebook, a browser or a second job).

Cases:

- ``demo``: ``ubergnn demo`` (the README's first command), whole wall time;
- ``yoochoose``: one training epoch of SR-GNN (``UberGNNRecommender(readout="local")`` without users,
  hidden 100, batch 100, no validation) on YOOCHOOSE 1/64, skorch's epoch duration
  (``benchmarks/ubergnn_speed.py --epochs 1``);
- ``tests``: ``pytest -m "not slow"`` (the README's test command), whole wall time.

Examples
--------
::

    python benchmarks/threads.py                                  # demo and yoochoose, idle and busy (~15 min)
    python benchmarks/threads.py --cases demo --loads 1           # the demo beside a busy process only
    python benchmarks/threads.py --cases tests --modes after --loads 1
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
YOOCHOOSE = HERE.parent / "shared" / "data" / "yoochoose1_64"


def _command(case, mode, out_dir):
    threads = ["--threads", "-1"] if mode == "before" else []
    if case == "demo":
        return ["ubergnn", "demo", "--no-plot", "--output-dir", str(out_dir), *threads]
    if case == "yoochoose":
        return [sys.executable, str(HERE / "benchmarks" / "ubergnn_speed.py"), "--data", str(YOOCHOOSE),
                "--epochs", "1", "--hidden", "100", "--batch-size", "100", "--sr-gnn",
                "--max-test", "5000", "--verbose", "0", *threads]
    if case == "tests":
        if mode == "before":
            raise ValueError("the tests case has no 'before' mode (the estimators' n_jobs is not a pytest option)")
        return [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"]
    raise ValueError(f"unknown case {case!r}")


def _run(case, mode, busy):
    """Run one case; return (seconds, what was timed)."""
    spinner = None
    if busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tic = time.perf_counter()
            done = subprocess.run(_command(case, mode, Path(tmp)), cwd=HERE, capture_output=True, text=True,
                                  check=False)
            wall = time.perf_counter() - tic
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if done.returncode != 0:
        raise RuntimeError(f"{case}/{mode} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    if case == "yoochoose":
        return float(re.search(r"s/epoch\s+([\d.]+)", done.stdout).group(1)), "s per epoch"
    return wall, "s wall"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="demo,yoochoose", help="comma-separated: demo, yoochoose, tests")
    parser.add_argument("--loads", type=int, nargs="+", default=[0, 1], choices=[0, 1],
                        help="0: idle machine, 1: one other busy process (default both)")
    parser.add_argument("--modes", nargs="+", default=["before", "after"], choices=["before", "after"])
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if "yoochoose" in cases and not YOOCHOOSE.exists():
        print(f"skipping yoochoose: {YOOCHOOSE} is absent", file=sys.stderr)
        cases.remove("yoochoose")
    rows = []
    print("| case | machine | before: --threads -1 | after: defaults | before / after |")
    print("|---|---|---:|---:|---:|")
    for case in cases:
        for load in args.loads:
            result = {}
            for mode in args.modes:
                if case == "tests" and mode == "before":
                    continue
                result[mode], unit = _run(case, mode, busy=bool(load))
                print(f"  {case} {'busy' if load else 'idle'} {mode}: {result[mode]:.1f} {unit}",
                      file=sys.stderr, flush=True)
            cells = [f"{result[m]:.1f} {unit}" if m in result else "-" for m in ("before", "after")]
            ratio = f"{result['before'] / result['after']:.2f}x" if len(result) == 2 else "-"
            row = f"| {case} | {'one core busy' if load else 'idle'} | {cells[0]} | {cells[1]} | {ratio} |"
            rows.append(row)
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
