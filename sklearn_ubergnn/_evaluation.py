"""Fit-and-score loop shared by the command line, the examples and the benchmarks.

One implementation of "fit every model on the same split, rank the test prefixes in chunks, report
P@k / MRR@k / NDCG@k and timings", so that ``ubergnn evaluate``, ``ubergnn demo`` and the benchmark
suite compare models identically.
"""
import time

import numpy as np
import pandas as pd

from ._validation import check_k
from .metrics import mrr_at_k, ndcg_at_k, precision_at_k

__all__ = ["evaluate_recommenders", "format_table", "plot_results"]


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
        Show a tqdm progress bar per model while ranking.

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


def plot_results(results, path, *, k=20, title=None):
    """Save a two-panel PNG: P@k and MRR@k per model, and quality against fit time.

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

    fig, (ax_bar, ax_time) = plt.subplots(1, 2, figsize=(11, 4.2))
    pos = np.arange(len(results))
    width = 0.38
    ax_bar.bar(pos - width / 2, results[f"P@{k}"], width, label=f"P@{k}")
    ax_bar.bar(pos + width / 2, results[f"MRR@{k}"], width, label=f"MRR@{k}")
    ax_bar.set_xticks(pos, results["model"], rotation=20, ha="right")
    ax_bar.set_ylabel("%")
    ax_bar.set_title("Quality on the test prefixes")
    ax_bar.set_ylim(0, 1.25 * max(results[f"P@{k}"].max(), 1e-3))
    ax_bar.legend(loc="upper left", ncols=2)
    ax_time.scatter(results["fit_s"], results[f"MRR@{k}"])
    for _, row in results.iterrows():
        ax_time.annotate(row["model"], (row["fit_s"], row[f"MRR@{k}"]), textcoords="offset points", xytext=(4, 4))
    fit_s = results["fit_s"].to_numpy()
    if fit_s.min() > 0 and fit_s.max() / fit_s.min() > 50:
        ax_time.set_xscale("log")
    else:
        ax_time.set_xlim(0, 1.15 * fit_s.max() + 1e-3)
    ax_time.margins(y=0.15)
    ax_time.set_xlabel("fit time (s)")
    ax_time.set_ylabel(f"MRR@{k} (%)")
    ax_time.set_title("Quality against training time")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
