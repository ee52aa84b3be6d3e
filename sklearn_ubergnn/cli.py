"""The ``ubergnn`` command: ``ubergnn demo``, ``ubergnn evaluate`` and ``ubergnn benchmark``.

``demo`` and ``evaluate`` fit every chosen recommender on one split with
:func:`sklearn_ubergnn.evaluation.evaluate_recommenders`, print a results table, and write it (markdown)
with a comparison plot (PNG) into ``--output-dir``. ``benchmark`` runs a whole suite of
:mod:`sklearn_ubergnn.benchmark` (the same loop for the session suite) over several seeds, each model in a
fresh process.

Errors. A user error (a bad option value, a missing or unreadable file, data that cannot be
parsed) prints one line, ``ubergnn: error: ...`` (naming the file, line and column where it
applies), to stderr and exits with status 2; an interruption (Ctrl-C) exits with status 130. An
unexpected internal error prints one line too, exits with status 1 and suggests ``--debug``:
``--debug`` (or the environment variable ``UBERGNN_DEBUG=1``) shows the full traceback instead.
"""
import argparse
import contextlib
import os
import pickle
import sys
import time
from pathlib import Path

import pandas as pd

from ._argtypes import non_negative_int, nonzero_int, positive_float, positive_int
from .evaluation import (
    evaluate_recommenders,
    format_table,
    load_session_split,
    plot_results,
    synthetic_session_split,
)

__all__ = ["main"]

PROG = "ubergnn"
EXIT_USER_ERROR = 2  # as argparse exits on a bad command line
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
# Exceptions that mean bad input, not a bug: shown as one line, exit status 2.
USER_ERRORS = (ValueError, TypeError, OSError, pickle.UnpicklingError, EOFError, MemoryError)


class UserError(Exception):
    """A user error the command reports itself: printed as ``ubergnn: error: <message>``, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """``argparse`` parser whose errors are one line: ``ubergnn: error: <message> (see ... --help)``."""

    def error(self, message):
        sys.stderr.write(f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")
        sys.exit(EXIT_USER_ERROR)


def _one_line(text):
    return " ".join(str(text).split())

FORMATS = ("srgnn", "diginetica", "session-csv", "movielens")


# name -> (needs user portraits, builder(args) -> unfitted estimator); the suite's definitions
def _model_specs():
    from .benchmark import session_model_specs

    def from_args(build):
        return lambda args: build({"hidden_size": args.hidden_size, "epochs": args.epochs,
                                   "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                                   "verbose": _verbosity(args), "n_jobs": args.threads})

    return {name: (users, from_args(build)) for name, (users, build) in session_model_specs().items()}


TASKS = ("session", "link", "event", "bipartite")
TASK_HELP = (
    "session: next-item recommendation (default); link: link prediction on an interaction stream; event: event "
    "classification on a stream (labels revealed batch by batch); bipartite: top-20 recommendation on a user-item "
    "graph. link/event run the dynamic-graph encoders against EdgeBank / a logistic-regression baseline, bipartite "
    "the disentangled GNN against most-popular, BPR-MF, LightGCN and GF-CF (the suites of `ubergnn "
    "benchmark`, one seed)"
)

DEFAULT_MODELS = {
    "demo": "all",
    "evaluate": "popularity,session-knn,sequential-rules",
}


def _build_parser():
    parser = _Parser(
        prog=PROG,
        description="Graph neural network recommenders with a scikit-learn API: demos and evaluations. "
        "User errors print one line and exit with status 2.",
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="show the full Python traceback of an error instead of one line (also: UBERGNN_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,evaluate,benchmark}")
    models = ", ".join(_model_specs())

    demo = sub.add_parser(
        "demo",
        help="fit every model on planted synthetic sessions and compare them",
        description="Generate sessions with planted user-segment transitions (make_sessions), split them in time "
        "(the last 20 % of sessions are the test set), fit every model, print P@20/MRR@20 and timings, and "
        "save the table and a plot.",
    )
    demo.add_argument("--task", choices=TASKS, default="session", help=TASK_HELP + " on synthetic data")
    demo.add_argument("--n-sessions", type=positive_int, default=None,
                      help="number of synthetic sessions (default 4000, 1000 with --quick); --task session "
                      "only")
    demo.add_argument(
        "--quick", action="store_true",
        help="a small, fast run, e.g. for CI: --task session: 1000 sessions, smaller and shorter GNNs; other "
        "tasks: the suites' tiny scale (tiny synthetic data, 1 epoch)",
    )
    _add_common(demo, models, DEFAULT_MODELS["demo"])

    ev = sub.add_parser(
        "evaluate",
        help="evaluate models on a real dataset",
        description="Load a dataset, apply the SR-GNN protocol (drop sessions of one click and items seen fewer "
        "than --min-item-count times, keep the last --test-days days as the test set, make every prefix a "
        "sample) unless the data come already split (--format srgnn), then fit and score every model.",
    )
    ev.add_argument("--task", choices=TASKS, default="session", help=TASK_HELP)
    ev.add_argument("--data", required=True, type=Path,
                    help="file or folder holding the dataset (--task link/event: an interaction CSV with "
                    "source, target, time[, rating] columns, e.g. ../shared/data/collegemsg; --task bipartite: "
                    "a MovieLens folder, e.g. ../shared/data/ml-100k)")
    ev.add_argument(
        "--format",
        default=None,
        choices=FORMATS,
        help="srgnn: folder with SR-GNN's all_train_seq.txt and test.txt; diginetica: CIKM Cup 2016 "
        "train-item-views.csv; session-csv: any click log (give the column names); movielens: ml-100k or "
        "ml-1m folder (sessions per user and day). Required with --task session",
    )
    ev.add_argument("--test-days", type=positive_float, default=7.0,
                    help="days at the end kept for testing (default 7)")
    ev.add_argument("--min-item-count", type=non_negative_int, default=5,
                    help="drop items seen fewer times (default 5)")
    ev.add_argument("--max-test", type=positive_int, default=None,
                    help="score only the first N test prefixes")
    csv = ev.add_argument_group("session-csv columns")
    csv.add_argument("--session-col", default="session_id", help="session id column (default session_id)")
    csv.add_argument("--item-col", default="item_id", help="item id column (default item_id)")
    csv.add_argument("--time-col", default="time", help="click time column, unix seconds (default time)")
    csv.add_argument("--user-col", default=None, help="optional user id column")
    csv.add_argument("--sep", default=",", help="field separator (default ',')")
    _add_common(ev, models, DEFAULT_MODELS["evaluate"])

    from .benchmark import add_suite_arguments

    bench = sub.add_parser(
        "benchmark",
        help="run a whole benchmark suite (every model and baseline, several seeds) and write RESULTS.md",
    )
    add_suite_arguments(bench)  # with the suites' description
    for command in (demo, ev, bench):  # --debug is accepted after the command too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the full traceback of an error (also: UBERGNN_DEBUG=1)")
    return parser


def _add_common(parser, models, default):
    parser.add_argument(
        "--models",
        default=default,
        help=f"comma-separated models to run, or 'all' (--task session: {models}; the uber-gnn-* variants need "
        f"user portraits: make_sessions and MovieLens have them. --task link: edgebank, dag-lstm, rnn, transformer; "
        f"--task event: lr-history, dag-lstm, rnn, transformer; --task bipartite: most_popular, mf_bpr, lightgcn, "
        f"gfcf, disentangled). Default: {default}",
    )
    gnn = parser.add_argument_group("graph neural networks (sr-gnn, uber-gnn-*)")
    gnn.add_argument("--epochs", type=positive_int, default=None, help="maximum training epochs (default 10; demo 8; other tasks: the suite's "
                     "defaults, e.g. 400 for LightGCN and BPR-MF on --task bipartite)")
    gnn.add_argument("--hidden-size", type=positive_int, default=None, help="item/session vector size (default 100; demo 64)")
    gnn.add_argument("--batch-size", type=positive_int, default=100, help="training batch size (default 100)")
    gnn.add_argument(
        "--lr", type=positive_float, default=None, help="Adam learning rate, x0.1 every 3 epochs (default 1e-3; demo 1e-2)"
    )
    gnn.add_argument("--threads", type=nonzero_int, default=None,
                     help="torch threads of every neural model (its n_jobs): N, or -1 for every CPU; default: "
                     "the estimators' choice (one thread for small models, else the CPUs other processes leave "
                     "free)")
    shown = gnn.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true",
                       help="no per-epoch table or progress bar while the neural models train")
    shown.add_argument("--verbose", action="store_true",
                       help="progress bars even when stderr is not a terminal (the per-epoch table, with the "
                       "validation metrics, is always shown unless --quiet)")
    parser.add_argument("--k", type=positive_int, default=20, help="metric cut-off (default 20)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("ubergnn_output"), help="where results.md and results.png go"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")


def _verbosity(args):
    """``verbose`` of the neural models: 0 with --quiet, else the epoch table (1) plus skorch's progress bar (2)
    when stderr is a terminal or --verbose is given."""
    if args.quiet:
        return 0
    return 2 if args.verbose or sys.stderr.isatty() else 1


def _model_names(args):
    """The ``--models`` of ``--task session``, checked against the known names (before any data is loaded)."""
    specs = _model_specs()
    names = list(specs) if args.models == "all" else [n.strip() for n in args.models.split(",") if n.strip()]
    if not names:
        raise UserError(f"--models is empty; choose from {', '.join(specs)} or 'all'")
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise UserError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(specs)}")
    return names


def _choose_models(args, has_users):
    specs = _model_specs()
    names = _model_names(args)
    if not has_users:
        skipped = [n for n in names if specs[n][0]]
        if skipped and args.models != "all":
            raise UserError(f"{', '.join(skipped)} need user portraits, which these data do not have; "
                            "use MovieLens or the demo's synthetic sessions, or other --models")
        names = [n for n in names if not specs[n][0]]
    return {name: specs[name][1](args) for name in names}


def _demo_split(args):
    n_sessions = args.n_sessions or (1000 if args.quick else 4000)
    args.epochs = args.epochs or 8  # --quick too: the default network (dropout, refit) needs them on 1000 sessions
    args.hidden_size = args.hidden_size or (32 if args.quick else 64)
    args.lr = args.lr or 1e-2  # few samples: larger steps than SR-GNN's 1e-3
    split = synthetic_session_split(n_sessions, random_state=args.seed)
    return (*split, f"make_sessions(n_sessions={n_sessions}, random_state={args.seed})")


def _evaluate_split(args):
    csv = {}
    if args.format == "session-csv":
        csv = {"session_col": args.session_col, "item_col": args.item_col, "time_col": args.time_col,
               "user_col": args.user_col, "sep": args.sep}
    return load_session_split(args.data, args.format, test_days=args.test_days,
                              min_item_count=args.min_item_count, **csv)


def _run(args, X_train, y_train, X_test, y_test, title):
    args.epochs = args.epochs or 10
    args.hidden_size = args.hidden_size or 100
    args.lr = args.lr or 1e-3
    models = _choose_models(args, has_users=isinstance(X_train, pd.DataFrame))
    if getattr(args, "max_test", None):
        X_test, y_test = X_test[: args.max_test], y_test[: args.max_test]
    print(f"{title}: {len(y_train):,} training prefixes, {len(y_test):,} test prefixes", file=sys.stderr)
    from .benchmark import ValidationTopK

    for model in models.values():  # validation P@k / MRR@k in the epoch table as the models train
        if "callbacks" in model.get_params() and _verbosity(args):
            model.set_params(callbacks=[("valid_topk", ValidationTopK(k=args.k))])
    with contextlib.redirect_stdout(sys.stderr):  # skorch's epoch tables go to stderr, the results to stdout
        results = evaluate_recommenders(models, X_train, y_train, X_test, y_test, k=args.k, progress=True)
    table = format_table(results)
    print(table)
    from .benchmark import SUITES, suite_margin

    margin = suite_margin(results, SUITES["session"])  # the headline model against the best baseline
    if margin:
        print(margin)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    (args.output_dir / "results.md").write_text(
        f"# {title}\n\n{len(y_train):,} training prefixes, {len(y_test):,} test prefixes ({stamp})\n\n{table}\n"
        + (f"\n{margin}\n" if margin else "")
    )
    if not args.no_plot:
        png = plot_results(results, args.output_dir / "results.png", k=args.k, title=title)
        print(f"plot written to {png}", file=sys.stderr)
    return results


def _run_suite_task(args, argv):
    """``--task link|event|bipartite``: that suite (models against their baselines), one seed, in this process."""
    from .benchmark import run_suite

    if args.command == "evaluate" and not args.data.exists():
        raise UserError(f"--data {args.data} does not exist")
    if args.command == "demo" and args.n_sessions is not None:
        raise UserError(f"--n-sessions applies to --task session only, not {args.task}; use --quick for a "
                        "smaller run")
    models = None if args.models in ("all", DEFAULT_MODELS[args.command]) else [
        m.strip() for m in args.models.split(",") if m.strip()]
    if args.task == "bipartite":
        suite, options = "bipartite", {"epochs": args.epochs}
    else:
        suite = "dynamic"
        options = {"task": "link" if args.task == "link" else "classify", "epochs": args.epochs}
        if args.hidden_size is not None:
            options["embedding_dim"] = args.hidden_size
    if args.command == "demo":
        scale = "tiny" if args.quick else "quick"
    else:
        scale = "full"
    with contextlib.redirect_stdout(sys.stderr):  # skorch's epoch tables go to stderr, the results to stdout
        report = run_suite(
            suite, data=None if args.command == "demo" else args.data,
            scale=scale, seeds=[args.seed], models=models, options=options,
            output_dir=args.output_dir, write=False, isolate=False, plots=not args.no_plot,
            threads=args.threads, verbose=_verbosity(args), command=" ".join(["ubergnn", *argv]),
        )
    print(report.table)
    if report.margin:
        print(report.margin)
    if report.notes:
        print(report.notes)
    print(f"files: {', '.join(str(f) for f in report.files)}", file=sys.stderr)
    return 1 if report.failed else 0


def _run_command(args, argv):
    if args.command == "benchmark":
        from .benchmark import run_from_args

        return run_from_args(args, prog=PROG, argv=argv)
    if args.task != "session":
        return _run_suite_task(args, argv)
    _model_names(args)  # unknown names fail before any data is loaded
    if args.command == "demo":
        *split, title = _demo_split(args)
    else:
        if not args.data.exists():
            raise UserError(f"--data {args.data} does not exist")
        if args.format is None:
            raise UserError("evaluate --task session needs --format (srgnn, diginetica, session-csv or "
                            "movielens)")
        try:
            split = _evaluate_split(args)
        except (ValueError, TypeError) as exc:
            raise UserError(f"cannot read {args.data} as {args.format}: {exc}") from exc
        title = f"{args.format}: {args.data}"
    _run(args, *split, title)
    return 0


def _debug_requested(args):
    return getattr(args, "debug", False) or os.environ.get("UBERGNN_DEBUG", "").strip() not in ("", "0")


def main(argv=None):
    """Entry point of the ``ubergnn`` command; returns the exit status.

    0: success; 1: a benchmark run failed, or an internal error; 2: a user error (one line on
    stderr); 130: interrupted. ``--debug`` or ``UBERGNN_DEBUG=1`` re-raises errors with their
    traceback.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _build_parser().parse_args(argv)  # a bad command line exits here with status 2
    try:
        return _run_command(args, argv)
    except KeyboardInterrupt:
        if _debug_requested(args):
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # the suites' own checks: SystemExit("ubergnn: <message>")
        if _debug_requested(args) or not isinstance(exc.code, str):
            raise
        message = exc.code.removeprefix(f"{PROG}: ")
        print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (UserError, *USER_ERRORS) as exc:
        if _debug_requested(args):
            raise
        print(f"{PROG}: error: {_describe_error(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug: one line, and how to see the traceback
        if _debug_requested(args):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} (run again with --debug, or "
              "UBERGNN_DEBUG=1, for the traceback, and please report it)", file=sys.stderr)
        return 1


def _describe_error(exc):
    """One line for a user error: its message, with the exception type where the message alone is unclear."""
    if isinstance(exc, UserError):
        return _one_line(exc)
    if isinstance(exc, MemoryError):
        return ("out of memory; try smaller data (e.g. --max-test) or smaller models (--hidden-size, "
                "--batch-size)")
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    text = _one_line(exc)
    if isinstance(exc, (pickle.UnpicklingError, EOFError)) or not text:
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
