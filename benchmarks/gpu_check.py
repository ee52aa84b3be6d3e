"""``python -m benchmarks gpu``: the CUDA tests, then one timed training epoch of every system.

Made for a machine with a GPU (``benchmarks/gpu_check.sh`` is the same command), and runs on CPU
too (``--device cpu``, ``--quick`` to cut the data):

1. **CUDA tests.** Every test of ``sklearn_ubergnn/tests`` and ``tests`` that puts something on the
   GPU (``device="cuda"``, ``.cuda()``, ``.to("cuda")``; they skip without a GPU) runs with pytest; the pass/fail/skip counts are printed.
   Without CUDA the step says so in one line, listing the tests it would run.
2. **One epoch of each system**, on real data, with the estimator's defaults except ``device``,
   ``max_epochs=1`` and the internal validation split off where the estimator has one (as
   ``benchmarks/ubergnn_speed.py`` and ``dynamic_suite.py speed`` time an epoch):

   ========================== ========================================= =============================
   system                     data                                      quality figure
   ========================== ========================================= =============================
   UberGNNRecommender         YOOCHOOSE 1/64, every training prefix     P@20 on 5,000 test prefixes
   DynamicGraphEmbedder       CollegeMsg, chronological train + valid   link AP on the test rows
   (DAG-LSTM, RNN, Transformer)                                         (``evaluate_stream_links``)
   DisentangledGraphEmbedder  MovieLens-100k, 80 % of each user's edges Recall@20 on the other 20 %
   ========================== ========================================= =============================

   Each system runs in a fresh process (so its peak memory is its own) and reports skorch's
   ``dur`` of the epoch, the wall seconds of ``fit`` (set-up included, CUDA context excluded),
   the peak memory during ``fit`` (``torch.cuda.max_memory_allocated`` on CUDA, the process's
   peak RSS on CPU) and the quality figure.
3. A markdown table; ``--write`` puts it in ``benchmarks/RESULTS.md`` between the markers
   ``<!-- gpu-check:<device>[-quick]:start -->`` and ``...:end -->``
   (:func:`sklearn_ubergnn.benchmark.replace_section`).

The exit status is 1 when a CUDA test or a system fails, 2 for a usage error (``--device cuda``
without CUDA), 0 otherwise. ``--quick`` keeps the 20,000 most recent YOOCHOOSE training prefixes
and the first 15,000 CollegeMsg interactions (MovieLens-100k as is); ``--synthetic`` replaces the
data with tiny generated sets (a smoke test of the script itself, seconds).
"""
import argparse
import concurrent.futures
import inspect
import multiprocessing
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
TEST_DIRS = ("sklearn_ubergnn/tests", "tests")
SYSTEMS = ("ubergnn", "dag-lstm", "rnn", "transformer", "disentangled")
LABELS = {
    "ubergnn": "UberGNNRecommender",
    "dag-lstm": "DynamicGraphEmbedder (DAG-LSTM)",
    "rnn": "DynamicGraphEmbedder (RNN)",
    "transformer": "DynamicGraphEmbedder (Transformer)",
    "disentangled": "DisentangledGraphEmbedder",
}
_ENCODERS = {"dag-lstm": "lstm", "rnn": "rnn", "transformer": "transformer"}
QUICK_YOOCHOOSE_PREFIXES = 20_000
QUICK_COLLEGEMSG_ROWS = 15_000
N_TEST_SESSIONS = 5_000
BUDGET_S = 8 * 60


# ------------------------------------------------------------------------------------------------
# 1. the CUDA tests
# ------------------------------------------------------------------------------------------------
# code that puts something on a GPU: device="cuda", .cuda(), .to("cuda"), torch.device("cuda")
# (a skip condition or a comment mentioning CUDA does not count)
CUDA_CODE = re.compile(r"""device\s*=\s*["']cuda|\.cuda\(|\.to\(\s*["']cuda|torch\.device\(\s*["']cuda""")


def cuda_test_files(root=ROOT):
    """Test files under ``sklearn_ubergnn/tests`` and ``tests`` whose code uses CUDA (sorted)."""
    files = []
    for folder in TEST_DIRS:
        for path in sorted((Path(root) / folder).glob("test_*.py")):
            if CUDA_CODE.search(path.read_text(errors="replace")):
                files.append(path)
    return files


def pytest_collection_modifyitems(config, items):
    """Pytest hook (this module is loaded with ``-p benchmarks.gpu_check``): keep the CUDA tests only.

    A test is kept when the source of its function puts something on a GPU (:data:`CUDA_CODE`)
    or one of its parameters is ``cuda``.
    """
    keep, drop = [], []
    for item in items:
        try:
            source = inspect.getsource(item.function)
        except (AttributeError, OSError, TypeError):
            source = ""
        params = getattr(getattr(item, "callspec", None), "id", "")
        (keep if CUDA_CODE.search(source) or "cuda" in params.lower() else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def run_cuda_tests(files, *, collect_only=False, root=ROOT, log=print):
    """Run (or only collect) the CUDA tests of ``files`` with pytest in a child process.

    Returns
    -------
    result : dict
        ``rc`` (pytest's exit status), ``passed``, ``failed`` (failures + errors), ``skipped``,
        ``tests`` (node ids; filled when ``collect_only``).
    """
    base = [sys.executable, "-m", "pytest", "-p", "benchmarks.gpu_check", "-p", "no:cacheprovider",
            *[str(f) for f in files]]
    if collect_only:
        proc = subprocess.run([*base, "--collect-only", "-q"], cwd=root, capture_output=True, text=True,
                              check=False)
        tests = [line.strip() for line in proc.stdout.splitlines() if "::" in line]
        return {"rc": proc.returncode, "passed": 0, "failed": 0, "skipped": 0, "tests": tests}
    with tempfile.TemporaryDirectory(prefix="ubergnn-gpu-check-") as tmp:
        report = Path(tmp) / "junit.xml"
        proc = subprocess.run([*base, "-q", "-rfEs", f"--junitxml={report}"], cwd=root, check=False)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if report.exists():
            for suite in ElementTree.parse(report).getroot().iter("testsuite"):
                for key in counts:
                    counts[key] += int(suite.get(key, 0))
    failed = counts["failures"] + counts["errors"]
    if proc.returncode not in (0, 5) and failed == 0:  # pytest itself failed (usage, collection)
        failed = 1
    return {"rc": proc.returncode, "passed": counts["tests"] - failed - counts["skipped"], "failed": failed,
            "skipped": counts["skipped"], "tests": []}


# ------------------------------------------------------------------------------------------------
# 2. one epoch of each system
# ------------------------------------------------------------------------------------------------
def _thread_probe():
    """A skorch callback recording ``torch.get_num_threads()`` during each epoch (what fit really used)."""
    import torch
    from skorch.callbacks import Callback

    class ThreadProbe(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("torch_threads", torch.get_num_threads())

    return ThreadProbe()


def _load(system, data_dir, quick, synthetic):
    """The training data, the held-out data and a one-line description for one system."""
    if system == "ubergnn":
        from sklearn_ubergnn.preprocessing import session_prefixes

        if synthetic:
            from sklearn_ubergnn.datasets import make_sessions

            sessions = make_sessions(n_users=20, n_items=30, n_sessions=120, random_state=0)[0]
            X, y = session_prefixes(sessions[:100])
            X_test, y_test = session_prefixes(sessions[100:])
            name = "synthetic sessions (make_sessions, 120 sessions)"
        else:
            from sklearn_ubergnn.datasets import load_srgnn

            data = load_srgnn(Path(data_dir) / "yoochoose1_64")
            X, y = session_prefixes(data.train_sessions, order="srgnn")
            if quick:  # SR-GNN's files are in time order: the most recent prefixes are last
                X, y = X[-QUICK_YOOCHOOSE_PREFIXES:], y[-QUICK_YOOCHOOSE_PREFIXES:]
            X_test, y_test = data.test_X, np.asarray(data.test_y)
            name = "YOOCHOOSE 1/64" + (f" ({QUICK_YOOCHOOSE_PREFIXES:,} most recent prefixes)" if quick else "")
        n_test = min(N_TEST_SESSIONS, len(X_test))
        index = np.sort(np.random.default_rng(0).choice(len(X_test), n_test, replace=False))
        test = ([X_test[i] for i in index], np.asarray(y_test)[index])
        return (X, y), test, name, f"{len(X):,} prefixes"
    if system in _ENCODERS:
        import pandas as pd

        from sklearn_ubergnn.benchmark import chronological_split

        if synthetic:
            from sklearn_ubergnn.datasets import make_interactions

            df = make_interactions(n_objects=30, n_interactions=300, random_state=0)[["source", "target", "time"]]
            name = "synthetic stream (make_interactions, 300 rows)"
        else:
            from sklearn_ubergnn.datasets import load_interactions_csv

            df = load_interactions_csv(Path(data_dir) / "collegemsg" / "CollegeMsg.txt", format="collegemsg")
            if quick:
                df = df.iloc[:QUICK_COLLEGEMSG_ROWS].reset_index(drop=True)
            name = "CollegeMsg" + (f" (first {QUICK_COLLEGEMSG_ROWS:,} rows)" if quick else "")
        train, valid, test = chronological_split(df)
        fit_df = pd.concat([train, valid], ignore_index=True)
        objects = np.unique(np.r_[df["source"].to_numpy(), df["target"].to_numpy()])
        return fit_df, (test, objects), name, f"{len(fit_df):,} rows"
    if system == "disentangled":
        from sklearn_ubergnn.disentangled import train_test_split_edges

        if synthetic:
            from sklearn_ubergnn.datasets import make_bipartite

            edges = make_bipartite(n_users=40, n_items=30, random_state=0)[0]
            name = "synthetic graph (make_bipartite, 40 users)"
        else:
            from sklearn_ubergnn.datasets import load_movielens_ratings

            edges = load_movielens_ratings(Path(data_dir) / "ml-100k")[["user", "item"]]
            name = "MovieLens-100k"
        train, test = train_test_split_edges(edges, 0.2, random_state=0)
        return train, test, name, f"{len(train):,} edges"
    raise ValueError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")


def _estimator(system, device, threads):
    callbacks = [("torch_threads", _thread_probe())]
    if system == "ubergnn":
        from sklearn_ubergnn.session import UberGNNRecommender

        est = UberGNNRecommender(max_epochs=1, validation_fraction=None, device=device, callbacks=callbacks,
                                 random_state=0)
    elif system in _ENCODERS:
        from sklearn_ubergnn.dynamic import DynamicGraphEmbedder

        est = DynamicGraphEmbedder(encoder=_ENCODERS[system], max_epochs=1, validation_fraction=None,
                                   device=device, callbacks=callbacks, random_state=0)
    else:
        from sklearn_ubergnn.disentangled import DisentangledGraphEmbedder

        est = DisentangledGraphEmbedder(max_epochs=1, device=device, callbacks=callbacks, random_state=0)
    if threads and "n_jobs" in est.get_params():  # estimators that bound their own threads
        est.set_params(n_jobs=threads)
    return est


def _quality(system, est, test):
    """(name, value) of the cheap quality figure of a fitted system."""
    if system == "ubergnn":
        from sklearn_ubergnn.metrics import precision_at_k

        X_test, y_test = test
        return f"P@20 ({len(X_test):,} test prefixes)", 100 * precision_at_k(y_test, est.recommend(X_test, k=20))
    if system in _ENCODERS:
        from sklearn_ubergnn.evaluation import evaluate_stream_links

        rows, objects = test
        return f"link AP ({len(rows):,} test rows)", 100 * evaluate_stream_links(est, rows, objects, random_state=0)["ap"]
    n_users = test["user"].nunique()
    return f"Recall@20 ({n_users:,} test users)", 100 * est.score(test, k=20)  # the embedders' score


def run_system(system, *, device="cpu", data_dir=None, quick=False, synthetic=False, threads=None):
    """Fit one system for one epoch and score it; the entry point of each child process.

    Returns
    -------
    row : dict
        ``system``, ``data``, ``size``, ``device``, ``epoch_s`` (skorch's ``dur``), ``fit_s``
        (wall seconds of ``fit``), ``peak_mib``, ``memory`` (what ``peak_mib`` measures),
        ``threads`` (torch threads during the epoch), ``quality_name``, ``quality``,
        ``quality_s`` (seconds to compute it).
    """
    import torch

    from sklearn_ubergnn.benchmark import shared_data_dir

    if threads:
        torch.set_num_threads(threads)
    # The first optimizer of a process imports torch._dynamo (seconds), and the first CUDA call
    # creates the context (seconds): both before any timing.
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1, device=device))])
    train, test, name, size = _load(system, data_dir or shared_data_dir(), quick, synthetic)
    est = _estimator(system, device, threads)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    if isinstance(train, tuple):
        est.fit(*train)
    else:
        est.fit(train)
    if cuda:
        torch.cuda.synchronize()
    fit_s = time.perf_counter() - start
    if cuda:
        peak, memory = torch.cuda.max_memory_allocated() / 2**20, "CUDA max allocated"
    else:
        peak, memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak RSS"
    last = est.history_[-1]
    start = time.perf_counter()
    quality_name, quality = _quality(system, est, test)
    return {"system": system, "data": name, "size": size, "device": device, "epoch_s": float(last["dur"]),
            "fit_s": fit_s, "peak_mib": peak, "memory": memory, "threads": last.get("torch_threads"),
            "quality_name": quality_name, "quality": float(quality), "quality_s": time.perf_counter() - start}


def _in_fresh_process(**kwargs):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_system, **kwargs).result()


def missing_data(system, data_dir):
    """The data folder a system needs when it is absent, else None."""
    folder = {"ubergnn": "yoochoose1_64", "disentangled": "ml-100k"}.get(system, "collegemsg")
    path = Path(data_dir) / folder
    return None if path.exists() else path


# ------------------------------------------------------------------------------------------------
# 3. report
# ------------------------------------------------------------------------------------------------
def device_name(device):
    """``torch.cuda.get_device_name`` on CUDA; the CPU model (from /proc/cpuinfo) otherwise."""
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_table(rows):
    """Markdown table of the system rows."""
    header = ["system", "data", "device", "epoch s", "fit s", "peak memory MiB", "quality", "torch threads"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        if "error" in row:
            cells = [LABELS[row["system"]], row.get("data", "–"), row.get("device", "–"), "–", "–", "–",
                     f"{'FAILED' if row['error'] else 'skipped'}: {row['why']}", "–"]
        else:
            cells = [LABELS[row["system"]], f"{row['data']}, {row['size']}", row["device"],
                     f"{row['epoch_s']:.2f}", f"{row['fit_s']:.2f}",
                     f"{row['peak_mib']:,.0f} ({row['memory']})", f"{row['quality_name']} {row['quality']:.2f}",
                     str(row["threads"]) if row["threads"] is not None else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section_key(device, quick, synthetic):
    import torch

    kind = torch.device(device).type
    return f"gpu-check:{kind}{'-quick' if quick else ''}{'-synthetic' if synthetic else ''}"


def format_section(key, *, command, header, tests_line, table, wall_s, isolate=True):
    """The RESULTS.md block of one run, between its markers."""
    stamp = time.strftime("%Y-%m-%d %H:%M")
    memory = ("peak memory during `fit`, each system in a fresh process" if isolate
              else "peak memory during `fit` (on CPU the running peak of one process: --in-process)")
    return "\n".join([
        f"<!-- {key}:start -->",
        f"### `{key}`: one training epoch of each system",
        "",
        f"`{command}`",
        "",
        (f"{header}. {tests_line}. Whole run {wall_s:,.0f} s wall clock on {stamp}, load average "
         f"{os.getloadavg()[0]:.1f} at the end. Defaults of each estimator except `device`, `max_epochs=1`, "
         "no validation split; epoch s = skorch's `dur`; fit s = wall seconds of `fit` (set-up included, "
         f"CUDA context excluded); {memory}; P@20 is SR-GNN's (= HR@20); quality figures in percent after "
         "the one epoch."),
        "",
        table,
        f"<!-- {key}:end -->",
    ])


def run_gpu_check(*, device=None, quick=False, synthetic=False, systems=None, run_tests=True, isolate=True,
                  threads=None, data_dir=None, write=False, results_file=RESULTS, command=None, log=print):
    """Run the whole check; return ``(exit_status, rows, section)``.

    Parameters
    ----------
    device : {"cuda", "cpu", None}, default=None
        None picks CUDA when available. ``"cuda"`` without CUDA raises ``ValueError``.
    quick, synthetic : bool, default=False
        Less real data / tiny synthetic data (see the module docstring).
    systems : list of str, default=None
        A subset of :data:`SYSTEMS` (None: all).
    run_tests : bool, default=True
        Step 1 (the CUDA tests).
    isolate : bool, default=True
        Each system in a fresh spawned process (its own peak memory); False runs in this one.
    threads : int, default=None
        ``torch.set_num_threads`` (and ``n_jobs`` where an estimator has it); None keeps the default.
    data_dir : path-like, default=None
        Folder holding ``yoochoose1_64``, ``collegemsg`` and ``ml-100k`` (None: the shared data).
    write : bool, default=False
        Replace this run's section of ``results_file``.
    """
    import torch

    from sklearn_ubergnn.benchmark import shared_data_dir

    wall = time.perf_counter()
    has_cuda = torch.cuda.is_available()
    device = device or ("cuda" if has_cuda else "cpu")
    if torch.device(device).type == "cuda" and not has_cuda:
        raise ValueError(f"--device {device} asked for, but CUDA is not available here (torch {torch.__version__}, "
                         "torch.cuda.is_available() is False); run with --device cpu.")
    systems = list(systems or SYSTEMS)
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    data_dir = Path(data_dir) if data_dir else shared_data_dir()
    previous_threads = torch.get_num_threads()
    try:
        if threads:
            torch.set_num_threads(threads)
        return _run(device, has_cuda, quick, synthetic, systems, run_tests, isolate, threads, data_dir, write,
                    results_file, command, log, wall)
    finally:  # in-process runs must leave the caller's torch setting as it was
        torch.set_num_threads(previous_threads)


def _run(device, has_cuda, quick, synthetic, systems, run_tests, isolate, threads, data_dir, write, results_file,
         command, log, wall):
    import torch

    from sklearn_ubergnn.benchmark import replace_section

    header = (f"torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}), device {device}: "
              f"{device_name(device)}, {torch.get_num_threads()} torch thread(s)"
              f"{' (--threads)' if threads else ' (default)'}, {os.cpu_count()} CPU cores")
    log(header)

    status = 0
    if not run_tests:
        tests_line = "CUDA tests not run (--no-tests)"
    else:
        files = cuda_test_files()
        if has_cuda:
            log(f"== CUDA tests ({', '.join(str(f.relative_to(ROOT)) for f in files)})")
            res = run_cuda_tests(files, log=log)
            tests_line = f"CUDA tests: {res['passed']} passed, {res['failed']} failed, {res['skipped']} skipped"
            status = 1 if res["failed"] else status
        else:
            res = run_cuda_tests(files, collect_only=True)
            tests_line = (f"CUDA tests skipped: CUDA is not available on this machine "
                          f"({len(res['tests'])} would run)")
            log(f"== CUDA tests that would run: {', '.join(res['tests']) or 'none found'}")
        log(tests_line)

    log(f"== one training epoch of each system on {device}" + (" (--quick)" if quick else "")
        + (" (--synthetic)" if synthetic else ""))
    rows = []
    for system in systems:
        missing = None if synthetic else missing_data(system, data_dir)
        if missing:
            rows.append({"system": system, "error": False, "why": f"data folder {missing} not found"})
            log(f"{LABELS[system]}: skipped, data folder {missing} not found")
            continue
        kwargs = {"system": system, "device": device, "data_dir": data_dir, "quick": quick,
                  "synthetic": synthetic, "threads": threads}
        try:
            row = _in_fresh_process(**kwargs) if isolate else run_system(**kwargs)
        except Exception as exc:  # noqa: BLE001 - one failing system must not hide the others
            rows.append({"system": system, "device": device, "error": True, "why": f"{type(exc).__name__}: {exc}"})
            log(f"{LABELS[system]}: FAILED: {type(exc).__name__}: {exc}")
            status = 1
            continue
        rows.append(row)
        log(f"{LABELS[system]} on {row['data']} ({row['size']}): epoch {row['epoch_s']:.2f} s, fit "
            f"{row['fit_s']:.2f} s, {row['memory']} {row['peak_mib']:,.0f} MiB, {row['quality_name']} "
            f"{row['quality']:.2f}")
    table = format_table(rows)
    wall_s = time.perf_counter() - wall
    log("")
    log(table)
    log("")
    log(f"whole run {wall_s:.0f} s")
    if torch.device(device).type == "cuda" and not quick and wall_s > BUDGET_S:
        log(f"warning: the run took longer than its budget of {BUDGET_S} s")
    key = section_key(device, quick, synthetic)
    section = format_section(key, command=command or "python -m benchmarks gpu", header=header,
                             tests_line=tests_line, table=table, wall_s=wall_s, isolate=isolate)
    if write:
        replace_section(results_file, key, section)
        log(f"section {key} written to {results_file}")
    return status, rows, section


def add_arguments(parser):
    """The options of ``python -m benchmarks gpu``."""
    parser.add_argument("--device", choices=["cuda", "cpu"], default=None,
                        help="where the estimators train (default: cuda when available, else cpu)")
    parser.add_argument("--quick", action="store_true",
                        help=f"YOOCHOOSE: the {QUICK_YOOCHOOSE_PREFIXES:,} most recent training prefixes; "
                             f"CollegeMsg: the first {QUICK_COLLEGEMSG_ROWS:,} rows; MovieLens-100k as is")
    parser.add_argument("--synthetic", action="store_true",
                        help="tiny generated data instead of the real data sets (a smoke test, seconds)")
    parser.add_argument("--systems", default=None,
                        help=f"comma-separated subset of {','.join(SYSTEMS)} (default: all)")
    parser.add_argument("--no-tests", dest="run_tests", action="store_false", help="skip the CUDA tests")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (and n_jobs where an estimator has it); default: the estimators'")
    parser.add_argument("--data-dir", default=None,
                        help="folder with yoochoose1_64, collegemsg and ml-100k (default: $UBERGNN_SHARED_DATA "
                             "or ../shared/data)")
    parser.add_argument("--in-process", dest="isolate", action="store_false",
                        help="run every system in this process (peak RSS is then the running maximum)")
    parser.add_argument("--write", action="store_true",
                        help="replace this run's section <!-- gpu-check:... --> of --results")
    parser.add_argument("--results", default=str(RESULTS), help="the RESULTS.md file that --write updates")
    return parser


def run_from_args(args, *, prog="python -m benchmarks gpu", argv=()):
    try:
        status, _, _ = run_gpu_check(
            device=args.device, quick=args.quick, synthetic=args.synthetic,
            systems=args.systems.split(",") if args.systems else None, run_tests=args.run_tests,
            isolate=args.isolate, threads=args.threads, data_dir=args.data_dir, write=args.write,
            results_file=args.results, command=shlex.join([prog, *argv]))
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    return status


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = add_arguments(argparse.ArgumentParser(prog="python -m benchmarks gpu",
                                                   description=__doc__.splitlines()[0]))
    return run_from_args(parser.parse_args(argv), argv=argv)


if __name__ == "__main__":
    sys.exit(main())
