"""The ``ubergnn`` command: ``ubergnn demo`` and ``ubergnn evaluate``.

Both fit every chosen recommender on one split with :func:`sklearn_ubergnn._evaluation.evaluate_recommenders`,
print a results table, and write it (markdown) with a comparison plot (PNG) into ``--output-dir``.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._evaluation import evaluate_recommenders, format_table, plot_results

__all__ = ["main"]

FORMATS = ("srgnn", "diginetica", "session-csv", "movielens")


# name -> (needs user portraits, builder(args) -> unfitted estimator)
def _model_specs():
    from .session import PopularityRecommender, SessionKNNRecommender, UberGNNRecommender

    def gnn(readout, users=True):
        # Without users, no column besides the sessions is used even when X is a DataFrame.
        no_users = {} if users else {"categorical_columns": [], "continuous_columns": []}

        def build(args):
            return UberGNNRecommender(
                **no_users,
                readout=readout,
                hidden_size=args.hidden_size,
                max_epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                random_state=args.seed,
                verbose=2 if args.verbose else 0,
            )

        return build

    specs = {
        "popularity": (False, lambda args: PopularityRecommender()),
        "session-knn": (False, lambda args: SessionKNNRecommender(k=100, sample_size=500)),
        "sr-gnn": (False, gnn("local", users=False)),  # UBER-GNN's V2 readout without users = SR-GNN
    }
    for readout in ("mean", "local", "user", "hybrid"):
        specs[f"uber-gnn-{readout}"] = (True, gnn(readout))
    return specs


DEFAULT_MODELS = {
    "demo": "all",
    "evaluate": "popularity,session-knn",
}


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="ubergnn",
        description="Graph neural network recommenders with a scikit-learn API: demos and evaluations.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,evaluate}")
    models = ", ".join(_model_specs())

    demo = sub.add_parser(
        "demo",
        help="fit every model on planted synthetic sessions and compare them",
        description="Generate sessions with planted user-segment transitions (make_sessions), split them in time "
        "(the last 20%% of sessions are the test set), fit every model, print P@20/MRR@20 and timings, and "
        "save the table and a plot.",
    )
    demo.add_argument("--n-sessions", type=int, default=4000, help="number of synthetic sessions (default 4000)")
    demo.add_argument(
        "--quick", action="store_true", help="a small, fast run (1000 sessions, smaller and shorter GNNs), e.g. for CI"
    )
    _add_common(demo, models, DEFAULT_MODELS["demo"])

    ev = sub.add_parser(
        "evaluate",
        help="evaluate models on a real dataset",
        description="Load a dataset, apply the SR-GNN protocol (drop sessions of one click and items seen fewer "
        "than --min-item-count times, keep the last --test-days days as the test set, make every prefix a "
        "sample) unless the data come already split (--format srgnn), then fit and score every model.",
    )
    ev.add_argument("--data", required=True, type=Path, help="file or folder holding the dataset")
    ev.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="srgnn: folder with SR-GNN's all_train_seq.txt and test.txt; diginetica: CIKM Cup 2016 "
        "train-item-views.csv; session-csv: any click log (give the column names); movielens: ml-100k or "
        "ml-1m folder (sessions per user and day)",
    )
    ev.add_argument("--test-days", type=float, default=7.0, help="days at the end kept for testing (default 7)")
    ev.add_argument("--min-item-count", type=int, default=5, help="drop items seen fewer times (default 5)")
    ev.add_argument("--max-test", type=int, default=None, help="score only the first N test prefixes")
    csv = ev.add_argument_group("session-csv columns")
    csv.add_argument("--session-col", default="session_id", help="session id column (default session_id)")
    csv.add_argument("--item-col", default="item_id", help="item id column (default item_id)")
    csv.add_argument("--time-col", default="time", help="click time column, unix seconds (default time)")
    csv.add_argument("--user-col", default=None, help="optional user id column")
    csv.add_argument("--sep", default=",", help="field separator (default ',')")
    _add_common(ev, models, DEFAULT_MODELS["evaluate"])
    return parser


def _add_common(parser, models, default):
    parser.add_argument(
        "--models",
        default=default,
        help=f"comma-separated models to run, or 'all' (available: {models}; the uber-gnn-* variants need "
        f"user portraits: make_sessions and MovieLens have them). Default: {default}",
    )
    gnn = parser.add_argument_group("graph neural networks (sr-gnn, uber-gnn-*)")
    gnn.add_argument("--epochs", type=int, default=None, help="maximum training epochs (default 10; demo 8)")
    gnn.add_argument("--hidden-size", type=int, default=None, help="item/session vector size (default 100; demo 64)")
    gnn.add_argument("--batch-size", type=int, default=100, help="training batch size (default 100)")
    gnn.add_argument(
        "--lr", type=float, default=None, help="Adam learning rate, x0.1 every 3 epochs (default 1e-3; demo 1e-2)"
    )
    gnn.add_argument("--verbose", action="store_true", help="show per-epoch tables and progress bars")
    parser.add_argument("--k", type=int, default=20, help="metric cut-off (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("ubergnn_output"), help="where results.md and results.png go"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")


def _choose_models(args, has_users):
    specs = _model_specs()
    names = list(specs) if args.models == "all" else [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise SystemExit(f"ubergnn: unknown model(s) {', '.join(unknown)}; choose from {', '.join(specs)}")
    if not has_users:
        skipped = [n for n in names if specs[n][0]]
        if skipped and args.models != "all":
            raise SystemExit(f"ubergnn: {', '.join(skipped)} need user portraits, which these data do not have")
        names = [n for n in names if not specs[n][0]]
    return {name: specs[name][1](args) for name in names}


def _with_users(X, users):
    """Per-sample DataFrame: the ``session`` column and the user-portrait columns of each sample."""
    frame = users.reset_index(drop=True).copy()
    frame.insert(0, "session", pd.Series(list(X), dtype=object))
    return frame


def _demo_split(args):
    from .datasets import make_sessions
    from .preprocessing import session_prefixes

    n_sessions = 1000 if args.quick else args.n_sessions
    args.epochs = args.epochs or (4 if args.quick else 8)
    args.hidden_size = args.hidden_size or (32 if args.quick else 64)
    args.lr = args.lr or 1e-2  # few samples: larger steps than SR-GNN's 1e-3
    sessions, session_users, users = make_sessions(n_sessions=n_sessions, random_state=args.seed)
    cut = int(0.8 * len(sessions))  # sessions come in time order: the last 20 % are the test set
    X_train, y_train, train_session = session_prefixes(sessions[:cut], return_session_index=True)
    X_test, y_test, test_session = session_prefixes(sessions[cut:], return_session_index=True)
    portraits = users.loc[session_users]
    X_train = _with_users(X_train, portraits.iloc[train_session])
    X_test = _with_users(X_test, portraits.iloc[cut + test_session])
    return X_train, y_train, X_test, y_test, f"make_sessions(n_sessions={n_sessions}, random_state={args.seed})"


def _evaluate_split(args):
    from . import datasets
    from .preprocessing import session_prefixes, srgnn_preprocess

    fmt, path = args.format, args.data
    if fmt == "srgnn":
        bunch = datasets.load_srgnn(path)
        X_train, y_train = session_prefixes(bunch.train_sessions)
        return X_train, y_train, bunch.test_X, np.asarray(bunch.test_y)
    if fmt == "diginetica":
        sessions, meta = datasets.load_diginetica(path)
    elif fmt == "movielens":
        sessions, meta = datasets.load_movielens(path)
    else:
        sessions, meta = datasets.load_session_csv(
            path,
            session_col=args.session_col,
            item_col=args.item_col,
            time_col=args.time_col,
            user_col=args.user_col,
            sep=args.sep,
        )
    split = srgnn_preprocess(
        sessions, meta["time"].to_numpy(), min_item_count=args.min_item_count, test_days=args.test_days
    )
    portrait_columns = [c for c in meta.columns if c not in ("session_id", "user_id", "time")]
    if not portrait_columns:
        return split.train_X, split.train_y, split.test_X, split.test_y
    portraits = meta[portrait_columns]
    sides = []
    for side in ("train", "test"):
        X, y, session = session_prefixes(split[f"{side}_sessions"], order="srgnn", return_session_index=True)
        rows = portraits.iloc[split[f"{side}_index"][session]]
        sides += [_with_users(X, rows), y]
    return tuple(sides)


def _run(args, X_train, y_train, X_test, y_test, title):
    args.epochs = args.epochs or 10
    args.hidden_size = args.hidden_size or 100
    args.lr = args.lr or 1e-3
    models = _choose_models(args, has_users=isinstance(X_train, pd.DataFrame))
    if getattr(args, "max_test", None):
        X_test, y_test = X_test[: args.max_test], y_test[: args.max_test]
    print(f"{title}: {len(y_train):,} training prefixes, {len(y_test):,} test prefixes", file=sys.stderr)
    results = evaluate_recommenders(models, X_train, y_train, X_test, y_test, k=args.k, progress=True)
    table = format_table(results)
    print(table)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    (args.output_dir / "results.md").write_text(
        f"# {title}\n\n{len(y_train):,} training prefixes, {len(y_test):,} test prefixes ({stamp})\n\n{table}\n"
    )
    if not args.no_plot:
        png = plot_results(results, args.output_dir / "results.png", k=args.k, title=title)
        print(f"plot written to {png}", file=sys.stderr)
    return results


def main(argv=None):
    """Entry point of the ``ubergnn`` command."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        *split, title = _demo_split(args)
    else:
        if not args.data.exists():
            raise SystemExit(f"ubergnn: --data {args.data} does not exist")
        try:
            split = _evaluate_split(args)
        except (ValueError, TypeError) as exc:
            raise SystemExit(f"ubergnn: cannot read {args.data} as {args.format}: {exc}") from None
        title = f"{args.format}: {args.data}"
    _run(args, *split, title)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
