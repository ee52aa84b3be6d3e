"""Fit-and-score loop shared by the command line, the examples and the benchmarks.

One implementation of "fit every model on the same split, rank the test prefixes in chunks, report
P@k / MRR@k / NDCG@k and timings", so that ``ubergnn evaluate``, ``ubergnn demo`` and the benchmark
suite compare models identically.
"""
import sys
import time

import numpy as np
import pandas as pd

from ._validation import check_k
from .metrics import mrr_at_k, ndcg_at_k, precision_at_k

__all__ = [
    "evaluate_recommenders",
    "format_table",
    "headline_margin",
    "load_session_split",
    "plot_results",
    "synthetic_session_split",
    "with_users",
]


def evaluate_recommenders(models, X_train, y_train, X_test, y_test, *, k=20, chunk_size=10_000, progress=False):
    """Fit each recommender on one split and score its top-k lists on the test prefixes.

    Parameters
    ----------
    models : dict of str to estimator
        Unfitted recommenders (anything with ``fit(X, y)`` and ``recommend(X, k)``), by display name.
        They are fitted in place.
    X_train, y_train : sequence of sessions or DataFrame, array-like of item ids
        Training prefixes and their next items. A DataFrame holds the sessions in its ``session``
        column and user-portrait columns beside it: user-aware models (those with a
        ``session_column`` parameter) get the whole frame, the others the session column only.
    X_test, y_test : sequence of sessions or DataFrame, array-like of item ids
        Test prefixes and their next items, in the same form as ``X_train``.
    k : int, default=20
        Cut-off of the metrics.
    chunk_size : int, default=10_000
        Test sessions ranked per ``recommend`` call (bounds memory; drives the progress bar).
    progress : bool, default=False
        Name each model on stderr before it is fitted and show a tqdm progress bar per model while
        ranking.

    Returns
    -------
    results : pandas.DataFrame
        One row per model: ``model``, ``P@k``, ``MRR@k``, ``NDCG@k`` (in percent), ``fit_s``,
        ``recommend_s`` and ``sessions_per_s``.
    """
    k = check_k(k)
    y_test = np.asarray(y_test)
    rows = []
    for name, model in models.items():
        if progress:
            print(f"fitting {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        model.fit(_input_for(model, X_train), y_train)
        fit_s = time.perf_counter() - start
        ranked = _recommend_in_chunks(model, _input_for(model, X_test), k, chunk_size, progress, name)
        recommend_s = ranked.pop()
        ranked = np.concatenate(ranked)
        rows.append(
            {
                "model": name,
                f"P@{k}": 100 * precision_at_k(y_test, ranked, k=k),
                f"MRR@{k}": 100 * mrr_at_k(y_test, ranked, k=k),
                f"NDCG@{k}": 100 * ndcg_at_k(y_test, ranked, k=k),
                "fit_s": fit_s,
                "recommend_s": recommend_s,
                "sessions_per_s": len(y_test) / max(recommend_s, 1e-9),
            }
        )
    return pd.DataFrame(rows)


def with_users(X, users):
    """Per-sample DataFrame: the ``session`` column and the user-portrait columns of each sample.

    Parameters
    ----------
    X : sequence of sessions
        One session (list of item ids) per sample.
    users : pandas.DataFrame
        One row of portrait columns per sample, in the same order.

    Returns
    -------
    frame : pandas.DataFrame
        ``session`` (object column of lists) followed by the columns of ``users``.
    """
    frame = users.reset_index(drop=True).copy()
    frame.insert(0, "session", pd.Series(list(X), dtype=object))
    return frame


def synthetic_session_split(n_sessions=4000, *, random_state=0, test_fraction=0.2):
    """Planted sessions with portraits (``make_sessions``), split in time; the demo's protocol.

    Sessions come in time order: the last ``test_fraction`` of them are the test set; every
    prefix of a session is a sample, joined with the portrait of the session's user.

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are DataFrames (``session`` column + portrait columns, see :func:`with_users`).
    """
    from .datasets import make_sessions
    from .preprocessing import session_prefixes

    sessions, session_users, users = make_sessions(n_sessions=n_sessions, random_state=random_state)
    cut = int((1 - test_fraction) * len(sessions))
    X_train, y_train, train_session = session_prefixes(sessions[:cut], return_session_index=True)
    X_test, y_test, test_session = session_prefixes(sessions[cut:], return_session_index=True)
    portraits = users.loc[session_users]
    X_train = with_users(X_train, portraits.iloc[train_session])
    X_test = with_users(X_test, portraits.iloc[cut + test_session])
    return X_train, y_train, X_test, y_test


def load_session_split(path, fmt, *, test_days=7.0, min_item_count=5, **csv_options):
    """Load a session data set and apply the SR-GNN protocol; the data side of ``ubergnn evaluate``.

    Parameters
    ----------
    path : str or path-like
        File or folder of the data set.
    fmt : {"srgnn", "diginetica", "session-csv", "movielens"}
        ``srgnn``: a folder with SR-GNN's pickles, already split (every prefix of
        ``all_train_seq.txt`` is a training sample). Otherwise sessions of one click and items
        seen fewer than ``min_item_count`` times are dropped and the last ``test_days`` days are
        the test set (:func:`~sklearn_ubergnn.preprocessing.srgnn_preprocess`).
    test_days : float, default=7.0
        Days at the end kept for testing.
    min_item_count : int, default=5
        Items seen fewer times are dropped.
    **csv_options
        ``session_col``, ``item_col``, ``time_col``, ``user_col``, ``sep`` of
        :func:`~sklearn_ubergnn.datasets.load_session_csv` (``session-csv`` only).

    Returns
    -------
    X_train, y_train, X_test, y_test
        Prefixes and next items. With user portraits (MovieLens, or a CSV with portrait
        columns) ``X_*`` are DataFrames (see :func:`with_users`), else lists of sessions.
    """
    from . import datasets
    from .preprocessing import session_prefixes, srgnn_preprocess

    if fmt == "srgnn":
        bunch = datasets.load_srgnn(path)
        X_train, y_train = session_prefixes(bunch.train_sessions)
        return X_train, y_train, bunch.test_X, np.asarray(bunch.test_y)
    if fmt == "diginetica":
        sessions, meta = datasets.load_diginetica(path)
    elif fmt == "movielens":
        sessions, meta = datasets.load_movielens(path)
    elif fmt == "session-csv":
        sessions, meta = datasets.load_session_csv(path, **csv_options)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of srgnn, diginetica, session-csv, movielens")
    split = srgnn_preprocess(sessions, meta["time"].to_numpy(), min_item_count=min_item_count, test_days=test_days)
    portrait_columns = [c for c in meta.columns if c not in ("session_id", "user_id", "time")]
    if not portrait_columns:
        return split.train_X, split.train_y, split.test_X, split.test_y
    portraits = meta[portrait_columns]
    sides = []
    for side in ("train", "test"):
        X, y, session = session_prefixes(split[f"{side}_sessions"], order="srgnn", return_session_index=True)
        rows = portraits.iloc[split[f"{side}_index"][session]]
        sides += [with_users(X, rows), y]
    return tuple(sides)


def _input_for(model, X):
    """The session column of a DataFrame for models that take sessions only, else ``X`` itself."""
    if isinstance(X, pd.DataFrame) and "session_column" not in model.get_params():
        return X["session"].tolist()
    return X


def _recommend_in_chunks(model, X, k, chunk_size, progress, name):
    """Top-k lists chunk by chunk; the last element of the returned list is the elapsed time."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(X), desc=f"ranking ({name})", unit="session", leave=False)
    parts, elapsed = [], 0.0
    for start in range(0, len(X), chunk_size):
        chunk = X.iloc[start : start + chunk_size] if isinstance(X, pd.DataFrame) else X[start : start + chunk_size]
        tic = time.perf_counter()
        parts.append(model.recommend(chunk, k=k))
        elapsed += time.perf_counter() - tic
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return [*parts, elapsed]


def format_table(results, *, floatfmt="{:.2f}"):
    """Render a results frame as a GitHub markdown table (no extra dependency).

    Floats use ``floatfmt``, except throughput columns (``*_per_s``), shown as whole numbers.
    """
    header = "| " + " | ".join(map(str, results.columns)) + " |"
    rule = "|" + "|".join("---" for _ in results.columns) + "|"

    def cell(column, value):
        if isinstance(value, (float, np.floating)):
            return f"{value:,.0f}" if column.endswith("_per_s") else floatfmt.format(value)
        return str(value)

    body = [
        "| " + " | ".join(cell(c, v) for c, v in zip(results.columns, row)) + " |"
        for row in results.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def headline_margin(scores, *, headline, baselines, metrics, digits=2):
    """One line saying how far the headline model is ahead of (or behind) the best baseline.

    The best baseline is the one with the highest first metric; the line gives the headline's
    signed difference to it in that metric, then in the others, e.g. ``headline: uber-gnn-hybrid
    leads the best baseline (sr-gnn) by +11.0 P@20 (MRR@20 +0.9, NDCG@20 +3.1)``. Shared by
    ``ubergnn demo`` / ``evaluate`` and the benchmark suites (:class:`SuiteReport.margin`).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per model, indexed by model name, with one column per metric (higher is
        better); e.g. ``evaluate_recommenders(...).set_index("model")``.
    headline : str
        The model the comparison is about.
    baselines : sequence of str
        The models it is compared with; those absent from ``scores`` are ignored.
    metrics : sequence of str
        Metric columns; the first one chooses the best baseline and the verb.
    digits : int, default=2
        Decimals of the differences.

    Returns
    -------
    line : str or None
        None when the headline, every baseline or the first metric is missing (e.g. a run of
        some models only).
    """
    metrics = [m for m in metrics if m in scores.columns]
    present = [b for b in baselines if b in scores.index and b != headline]
    if headline not in scores.index or not present or not metrics:
        return None
    primary = metrics[0]
    ranked = scores.loc[present, primary].astype(float)
    if ranked.isna().all() or np.isnan(float(scores.loc[headline, primary])):
        return None
    best = ranked.idxmax()
    diff = {m: float(scores.loc[headline, m]) - float(scores.loc[best, m]) for m in metrics}
    verb = "leads" if diff[primary] > 0 else ("ties with" if diff[primary] == 0 else "trails")
    line = f"headline: {headline} {verb} the best baseline ({best})"
    if verb != "ties with":
        line += f" by {diff[primary]:+.{digits}f} {primary}"
    others = [f"{m} {diff[m]:+.{digits}f}" for m in metrics[1:] if not np.isnan(diff[m])]
    if others:
        line += f" ({', '.join(others)})"
    return line


def _model_styles(models):
    """One colour and marker per model (tab10 colours; the marker changes every ten models)."""
    markers = "osD^vP*Xph"
    return {m: (f"C{i % 10}", markers[(i // 10 + i) % len(markers)]) for i, m in enumerate(models)}


def plot_results(results, path, *, k=20, title=None):
    """Save a two-panel PNG: P@k and MRR@k per model, and P@k against fit time.

    In the second panel every model has its own colour and marker, named in a legend beside it
    (no text on the axes, so labels never overlap however close the points are).

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`evaluate_recommenders`.
    path : str or path-like
        Where to write the PNG.
    k : int, default=20
        Cut-off used in the column names.
    title : str, default=None
        Figure title.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_bar, ax_time) = plt.subplots(1, 2, figsize=(12.5, 4.4))
    pos = np.arange(len(results))
    width = 0.38
    ax_bar.bar(pos - width / 2, results[f"P@{k}"], width, label=f"P@{k}")
    ax_bar.bar(pos + width / 2, results[f"MRR@{k}"], width, label=f"MRR@{k}")
    ax_bar.set_xticks(pos, results["model"], rotation=30, ha="right")
    ax_bar.set_ylabel("%")
    ax_bar.set_title("Quality on the test prefixes")
    ax_bar.set_ylim(0, 1.25 * max(results[f"P@{k}"].max(), 1e-3))
    ax_bar.legend(loc="upper left", ncols=2)
    # one colour and marker per model, named in a legend beside the panel: labels never overlap
    styles = _model_styles(list(results["model"]))
    for _, row in results.iterrows():  # hollow markers: points that coincide stay visible
        color, marker = styles[row["model"]]
        ax_time.scatter(row["fit_s"], row[f"P@{k}"], s=60, facecolors="none", edgecolors=color, linewidths=1.6,
                        marker=marker, label=row["model"], zorder=3)
    ax_time.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5), title="model", title_fontsize=8)
    ax_time.grid(alpha=0.3)
    fit_s = results["fit_s"].to_numpy()
    if fit_s.min() > 0 and fit_s.max() / fit_s.min() > 50:
        ax_time.set_xscale("log")
    else:
        ax_time.set_xlim(0, 1.15 * fit_s.max() + 1e-3)
    ax_time.margins(y=0.15)
    ax_time.set_xlabel("fit time (s)")
    ax_time.set_ylabel(f"P@{k} (%)")
    ax_time.set_title("Quality against training time")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
