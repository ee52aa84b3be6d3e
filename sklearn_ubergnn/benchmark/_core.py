"""The suite runner: every model × seed of a suite on one split, a summary table, a RESULTS.md section.

A *suite* (``_session.SUITE``, ``_dynamic.SUITE``, ``_bipartite.SUITE``) knows its data, its models
and how to fit and score one model with one seed (``run_job``). This module runs the jobs, one fresh
process each by default (so that the peak resident memory of every row is that model's own), and
turns their rows into a mean ± std table, a markdown section and plots.
"""
import concurrent.futures
import contextlib
import math
import multiprocessing
import os
import pickle
import platform
import re
import resource
import shlex
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SuiteData",
    "SuiteReport",
    "format_summary",
    "replace_section",
    "run_suite",
    "shared_data_dir",
    "suite_margin",
    "summarize_runs",
]

SCALES = ("tiny", "quick", "full")


def shared_data_dir():
    """``$UBERGNN_SHARED_DATA``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("UBERGNN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class SuiteData:
    """What a suite's ``load`` returns.

    Attributes
    ----------
    key : str
        Short name of the data set (``"ml-100k"``, ``"synthetic"``...): the marker of the
        RESULTS.md section is ``suite:<suite>:<key>``.
    title : str
        One line naming the data and the protocol.
    info : str
        Sizes of the split (sentence).
    payload : object
        What every job receives (picklable): the split itself, or what it is made from.
    has_users : bool, default=False
        Whether the data carry user portraits (session suite).
    """

    key: str
    title: str
    info: str
    payload: object
    has_users: bool = False
    extra: dict = field(default_factory=dict)


@dataclass
class SuiteReport:
    """What :func:`run_suite` returns: per-run rows, the summary, the markdown and the files written.

    ``margin`` is the one line of :func:`~sklearn_ubergnn.evaluation.headline_margin`: the suite's
    headline model (``spec.headline``: a name, or names of which the first one run counts) against
    its best baseline (``spec.baselines``), on the mean over seeds; None when either was not run.
    ``notes`` is the suite's own text on the data and the models (``spec.notes``; "" when none).
    """

    suite: str
    data: SuiteData
    runs: pd.DataFrame
    histories: list
    summary: pd.DataFrame
    table: str
    section: str
    wall_s: float
    files: list
    skipped: dict
    failed: dict
    margin: str = None
    notes: str = ""


def _peak_rss_mib():
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_job(suite_name, payload, payload_file, model, seed, config, threads):
    """Run one model with one seed; the entry point of every child process."""
    import torch

    from . import SUITES

    # Torch threads are the estimators' own business (their n_jobs, from ``threads`` in the config).
    # The first optimizer of a process imports torch._dynamo (seconds): do it before any timing.
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    if payload is None:
        with open(payload_file, "rb") as f:
            payload = pickle.load(f)
    data_rss = _peak_rss_mib()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # skorch's epoch tables (verbose) go to stderr
        row, history = SUITES[suite_name].run_job(payload, model, seed, config)
    row = {"model": model, "seed": seed, **row, "job_s": time.perf_counter() - start}
    row["peak_rss_mib"] = _peak_rss_mib()
    row["data_rss_mib"] = data_rss
    return row, [{"model": model, "seed": seed, **epoch} for epoch in history]


def _job_in_fresh_process(*args):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_run_job, *args).result()


def run_suite(
    suite,
    *,
    data=None,
    scale="full",
    seeds=None,
    models=None,
    options=None,
    output_dir="benchmark_output",
    results_file=None,
    write=None,
    isolate=True,
    threads=None,
    verbose=0,
    plots=True,
    command=None,
    log=None,
):
    """Fit and score every model of a suite on one split, for several seeds; report and plot.

    Parameters
    ----------
    suite : {"session", "dynamic", "bipartite"}
        Which suite.
    data : str or path-like, default=None
        A data set name or path understood by the suite (None: the suite's default; ignored
        at the ``quick`` and ``tiny`` scales, which use synthetic data).
    scale : {"full", "quick", "tiny"}, default="full"
        ``quick``: synthetic data and short training (minutes); ``tiny``: a smoke test (seconds).
    seeds : int or list of int, default=None
        Number of seeds (0 .. seeds - 1), or the seeds themselves; None: 3 at the full scale, 1
        otherwise. Seeds drive the models (initialisation, shuffling) and the suites' random
        splits; the synthetic data of the quick and tiny scales stay those of ``random_state=0``.
    models : list of str, default=None
        Subset of the suite's models; None runs them all.
    options : dict, default=None
        Suite options (``epochs``, ``hidden_size``, ``task``, ``max_train``, ``max_test``...);
        None values keep the suite's defaults.
    output_dir : path-like, default="benchmark_output"
        Where ``results.md``, ``runs.csv``, ``history.csv`` and the PNG plots go.
    results_file : path-like, default=None
        The RESULTS.md whose section ``<!-- suite:<suite>:<data>:start -->`` ... ``:end -->`` is
        replaced (appended at the end when absent).
    write : bool, default=None
        Write ``results_file``; None means yes at the full scale when ``results_file`` is given, no
        at ``quick``/``tiny``.
    isolate : bool, default=True
        Run every model × seed in a fresh spawned process (its peak RSS is that job's own);
        False runs them in this process (faster start; the RSS column is then this process's
        running peak).
    threads : int, default=None
        ``n_jobs`` of every neural model (torch threads during its calls); None keeps the
        estimators' default, which is how users run them.
    verbose : int, default=0
        ``verbose`` of every neural model: 1 prints skorch's per-epoch table (with the validation
        metrics), 2 adds a progress bar.
    plots : bool, default=True
        Write the PNG plots.
    command : str, default=None
        The command line quoted in the report.
    log : callable, default=None
        Called with progress lines; None prints them to stderr.

    Returns
    -------
    report : SuiteReport
    """
    from . import SUITES

    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    spec = SUITES[suite]
    if isinstance(seeds, (list, tuple)):
        seed_list = [int(seed) for seed in seeds]
        if not seed_list or min(seed_list) < 0:
            raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {seeds}")
    else:
        n_seeds = seeds if seeds is not None else (3 if scale == "full" else 1)
        if n_seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {n_seeds}")
        seed_list = list(range(n_seeds))
    n_seeds = len(seed_list)
    write = (scale == "full" and results_file is not None) if write is None else write
    config = spec.config(scale, {k: v for k, v in (options or {}).items() if v is not None})
    config["n_jobs"] = threads
    config["verbose"] = verbose
    wall = time.perf_counter()
    load_start = os.getloadavg()[0]
    sdata = spec.load(data, scale, config)
    plan = spec.models(sdata, config)
    if models:
        unknown = [m for m in models if m not in plan]
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(unknown)} for the {suite} suite; choose from "
                             f"{', '.join(plan)}")
        plan = {m: plan[m] for m in models}
    skipped = {m: reason for m, reason in plan.items() if reason}
    to_run = [m for m, reason in plan.items() if not reason]
    for m, reason in skipped.items():
        log(f"[{suite}] skipping {m}: {reason}")
    log(f"[{suite}] {sdata.title}: {sdata.info}; {len(to_run)} models x {n_seeds} seed(s), "
        f"{'one fresh process per run' if isolate else 'in this process'}")

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows, histories, failed = [], [], {}
    with tempfile.TemporaryDirectory(prefix="ubergnn-suite-") as tmp:
        payload_file = None
        if isolate:
            payload_file = Path(tmp) / "payload.pkl"
            with open(payload_file, "wb") as f:
                pickle.dump(sdata.payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        for seed in seed_list:
            for model in to_run:
                args = (suite, None if isolate else sdata.payload, payload_file, model, seed, config, threads)
                try:
                    row, history = _job_in_fresh_process(*args) if isolate else _run_job(*args)
                except Exception as exc:  # noqa: BLE001 - one failing model must not lose the others' results
                    failed[f"{model} (seed {seed})"] = f"{type(exc).__name__}: {exc}"
                    log(f"[{suite}] {model} seed {seed} FAILED: {type(exc).__name__}: {exc}")
                    if not isolate:
                        log(traceback.format_exc())
                    continue
                rows.append(row)
                histories.extend(history)
                shown = ", ".join(f"{m} {row[m]:.4g}" for m in spec.metrics if m in row)
                log(f"[{suite}] {model} seed {seed}: {shown}; fit {row['fit_s']:.1f} s, "
                    f"peak RSS {row['peak_rss_mib']:.0f} MiB")
                # partial results survive an interrupted run
                pd.DataFrame(rows).to_csv(output_dir / "runs.csv", index=False)
                if histories:
                    pd.DataFrame(histories).to_csv(output_dir / "history.csv", index=False)
    runs = pd.DataFrame(rows)
    hist = pd.DataFrame(histories)
    summary = summarize_runs(runs, spec.metrics, order=to_run)
    table = format_summary(summary, spec)
    margin = suite_margin(summary, spec)
    wall_s = time.perf_counter() - wall
    files = [output_dir / "runs.csv", output_dir / "results.md"]
    if plots and len(runs):
        from ._plots import plot_epochs, plot_quality_time

        title = f"{suite} suite, {sdata.key} data ({n_seeds} seed{'s' if n_seeds > 1 else ''})"
        files.append(plot_quality_time(summary, spec, output_dir / f"{suite}_quality_time.png", title=title,
                                       models=list(plan)))
        if len(hist):
            files.append(plot_epochs(hist, spec, output_dir / f"{suite}_epochs.png", title=title,
                                     models=list(plan)))
    section = _section(spec, sdata, config, table, seed_list, isolate, threads, wall_s, load_start, skipped,
                       failed, command, [f for f in files if f.suffix == ".png"], margin)
    (output_dir / "results.md").write_text(section + "\n")
    if write:
        if results_file is None:
            raise ValueError("write=True needs a results_file")
        replace_section(results_file, f"suite:{suite}:{sdata.key}", section)
        files.append(Path(results_file))
        log(f"[{suite}] section suite:{suite}:{sdata.key} written to {results_file}")
    log(f"[{suite}] done in {wall_s:.0f} s; table, runs.csv and plots in {output_dir}")
    return SuiteReport(suite, sdata, runs, histories, summary, table, section, wall_s, files, skipped, failed,
                       margin, spec.notes(sdata, config))


# ------------------------------------------------------------------------------------------------
# summary and markdown
# ------------------------------------------------------------------------------------------------
def summarize_runs(runs, metrics, *, order=None):
    """Mean and sample standard deviation over seeds of every numeric column, per model.

    Parameters
    ----------
    runs : DataFrame
        One row per model × seed (``model``, ``seed`` and numeric columns).
    metrics : sequence of str
        The quality columns (kept first).
    order : sequence of str, default=None
        Row order of the models (default: first appearance).

    Returns
    -------
    summary : DataFrame
        Index: model; columns ``<col>_mean``, ``<col>_std`` (NaN with one seed) for each numeric
        column, ``<col>_min``/``<col>_max`` for ``epochs``, ``peak_rss_mib_max`` and
        ``data_rss_mib_max`` (the largest over seeds), and ``n_seeds``.
    """
    if runs is None or not len(runs):
        return pd.DataFrame()
    numeric = [c for c in runs.columns
               if c not in ("model", "seed") and pd.api.types.is_numeric_dtype(runs[c])]
    by_model = runs.groupby("model", sort=False)
    grouped = by_model[numeric]
    summary = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_std"))
    if "epochs" in numeric:
        summary = summary.join(by_model["epochs"].min().rename("epochs_min"))
        summary = summary.join(by_model["epochs"].max().rename("epochs_max"))
    for column in ("peak_rss_mib", "data_rss_mib"):
        if column in numeric:
            summary = summary.join(by_model[column].max().rename(f"{column}_max"))
    summary["n_seeds"] = runs.groupby("model", sort=False).size()
    if order is not None:
        summary = summary.reindex([m for m in order if m in summary.index])
    return summary


def suite_margin(scores, spec):
    """The headline line of a suite's results (:func:`~sklearn_ubergnn.evaluation.headline_margin`).

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`summarize_runs` (the means over seeds are compared), or one row per
        model with a ``model`` column and metric columns, as
        :func:`~sklearn_ubergnn.evaluation.evaluate_recommenders` returns (``ubergnn demo``; any
        cut-off: ``P@10`` stands for ``P@20``).
    spec : suite
        Gives ``headline``, ``baselines``, ``metrics`` (the first one ranks) and ``metric_digits``.

    Returns
    -------
    line : str or None
        None when the headline model or every baseline is missing.
    """
    from ..evaluation import headline_margin

    if scores is None or not len(scores):
        return None
    if "model" in scores.columns:
        scores = scores.set_index("model")
        stems = [m.split("@")[0] for m in spec.metrics]
        metrics = [c for stem in stems for c in scores.columns if str(c).split("@")[0] == stem]
    else:
        columns = {f"{m}_mean": m for m in spec.metrics if f"{m}_mean" in scores}
        scores = scores[list(columns)].rename(columns=columns)
        metrics = list(columns.values())
    if not metrics:
        return None
    candidates = (spec.headline,) if isinstance(spec.headline, str) else spec.headline
    headline = next((name for name in candidates if name in scores.index), candidates[0])
    return headline_margin(scores, headline=headline, baselines=spec.baselines, metrics=metrics,
                           digits=spec.metric_digits)


def _fmt(value, digits):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _mean_std(summary_row, column, digits):
    mean, std = summary_row.get(f"{column}_mean"), summary_row.get(f"{column}_std")
    if mean is None or math.isnan(mean):
        return "–"
    if std is None or math.isnan(std):
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {_fmt(std, digits)}"


def _speed(value):
    """Seconds with two significant digits (at least one decimal below 100)."""
    if value is None or math.isnan(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2g}" if value < 1 else f"{value:.1f}"


def _rss(row):
    """Peak RSS over seeds, with the RSS once the data were loaded in parentheses when known."""
    peak, data = row.get("peak_rss_mib_max", float("nan")), row.get("data_rss_mib_max", float("nan"))
    if math.isnan(data):
        return _fmt(peak, 0)
    return f"{_fmt(peak, 0)} (data {_fmt(data, 0)})"


def format_summary(summary, spec):
    """Markdown table of a summary: quality (mean ± std), s/epoch, epochs, fit s, throughput, peak RSS.

    The RSS cell reads ``peak (data d)``: the largest peak over seeds, and in parentheses the
    process's peak once the data were loaded, before the model (so the difference is the model's).

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`summarize_runs`.
    spec : suite
        Gives ``metrics``, ``metric_digits``, ``throughput`` (column, header) and ``labels``.

    Returns
    -------
    table : str
        A GitHub markdown table, one row per model, in the summary's order.
    """
    through_col, through_head = spec.throughput
    header = ["model", *spec.metrics, "s/epoch", "epochs", "fit s", through_head, "peak RSS MiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for model, row in summary.iterrows():
        row = row.to_dict()
        epochs = "–"
        if not math.isnan(row.get("epochs_max", float("nan"))) and row.get("epochs_max", 0) > 0:
            lo, hi = int(row["epochs_min"]), int(row["epochs_max"])
            epochs = str(lo) if lo == hi else f"{lo}–{hi}"
        cells = [
            spec.labels.get(model, model),
            *[_mean_std(row, m, spec.metric_digits) for m in spec.metrics],
            _speed(row.get("s_per_epoch_mean", float("nan"))),
            epochs,
            _speed(row.get("fit_s_mean", float("nan"))),
            _fmt(row.get(f"{through_col}_mean", float("nan")), 0),
            _rss(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _environment():
    import sklearn
    import torch

    return (f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPU cores")


def _threads_text(threads):
    if threads is None:
        return "the estimators' default (`n_jobs=None`: one for small models, else the CPUs left free)"
    return f"`n_jobs={threads}`"


def _section(spec, sdata, config, table, seeds, isolate, threads, wall_s, load_start, skipped, failed,
             command, plots, margin=None):
    key = f"suite:{spec.name}:{sdata.key}"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    if len(seeds) > 1:
        seeds_text = f"Seeds {', '.join(map(str, seeds))}: mean ± sample standard deviation over seeds"
    else:
        seeds_text = f"One seed ({seeds[0]})"
    if isolate:
        memory = ("Each model × seed ran in a fresh process, so peak RSS is that run's own (interpreter, "
                  "torch, data and model)")
    else:
        memory = "All runs shared one process, so peak RSS is its running maximum, not a per-model figure"
    lines = [
        f"<!-- {key}:start -->",
        f"## Suite `{spec.name}`: {sdata.title}",
        "",
        f"`{command}`" if command else "",
        "",
        f"{sdata.info}. {spec.describe(config)}",
        "",
        (f"{seeds_text}. {memory}. "
        f"fit s = wall seconds of `fit` (validation passes included); s/epoch = skorch's mean epoch "
        f"duration. Torch threads: {_threads_text(threads)}. "
        f"Whole run: {wall_s:,.0f} s wall clock on {stamp}, "
        f"load average {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
        f"({_environment()}): timings on a shared machine are upper bounds."),
        "",
        table,
    ]
    if margin:
        lines += ["", f"{margin[0].upper()}{margin[1:]} (mean over seeds)."]
    notes = spec.notes(sdata, config)
    if notes:
        lines += ["", notes]
    if skipped:
        why = "; ".join(f"{spec.labels.get(m, m)} ({reason})" for m, reason in skipped.items())
        lines += ["", f"Skipped: {why}."]
    if failed:
        lines += ["", "Failed: " + "; ".join(f"{m}: {why}" for m, why in failed.items()) + "."]
    if plots:
        names = ", ".join(f"`{p.name}`" for p in plots)
        lines += ["", (f"Plots (in the output folder, not committed): {names} — metric per epoch of the "
                  "neural models (skorch history) and quality against fit time.")]
    lines.append(f"<!-- {key}:end -->")
    return "\n".join(lines)


def replace_section(path, key, section):
    """Replace the text between ``<!-- key:start -->`` and ``<!-- key:end -->`` of a file (idempotent).

    ``section`` must hold both markers itself. When the file has no such markers the section is
    appended at the end (the file is created when missing). Text outside the markers is never
    touched.

    Parameters
    ----------
    path : path-like
        The markdown file (benchmarks/RESULTS.md).
    key : str
        Marker name, e.g. ``"suite:session:ml-100k"``.
    section : str
        The new block, markers included.
    """
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    if not (section.startswith(start) and section.rstrip().endswith(end)):
        raise ValueError(f"section must start with {start!r} and end with {end!r}")
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        new = pattern.sub(lambda _: section.rstrip(), text, count=1)
    else:
        new = text.rstrip("\n") + ("\n\n" if text.strip() else "") + section.rstrip() + "\n"
    path.write_text(new)
    return path


def suite_config(name, defaults, options):
    """A suite's configuration: its ``defaults`` updated with ``options``, which may only name known keys.

    Raises
    ------
    ValueError
        When ``options`` names an option the suite does not have.
    """
    unknown = set(options) - set(defaults)
    if unknown:
        raise ValueError(f"the {name} suite has no option(s) {', '.join(sorted(unknown))}")
    return {**defaults, **options}


def command_line(prog, argv):
    """``prog`` followed by the shell-quoted arguments (for the report)."""
    return " ".join([prog, *(shlex.quote(a) for a in argv)])


def history_rows(estimator, keys=None):
    """Numeric per-epoch entries of a fitted estimator's skorch history (empty list if none).

    With ``refit=True`` this is the run that chose the epochs (``selection_history_``, which has
    the validation columns the plots show), not the refit on every sample (``history_``).
    """
    history = getattr(estimator, "selection_history_", None)
    if history is None:
        history = getattr(estimator, "history_", None)
    if history is None:
        return []
    rows = []
    for epoch in history:
        row = {k: v for k, v in epoch.items()
               if k != "batches" and isinstance(v, (int, float, np.floating, np.integer))
               and not isinstance(v, bool)
               and (keys is None or k in keys or k == "epoch")}
        rows.append(row)
    return rows
