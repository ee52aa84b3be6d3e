"""Evaluation loops: fit models on one split and score them the same way, for every task.

One loop per task, shared by the command line (``ubergnn demo`` / ``evaluate`` / ``benchmark``),
the benchmark suites (:mod:`sklearn_ubergnn.benchmark`), the scripts of ``benchmarks/`` and the
examples, so that every table compares models identically:

- :func:`evaluate_recommenders`: session recommenders; fit on the training prefixes, rank the
  test prefixes in chunks, P@k / MRR@k / NDCG@k and timings;
- :func:`evaluate_bipartite`: user–item recommenders; fit on the training edges, rank all items
  for every test user (training items excluded), Recall@k / NDCG@k and timings;
- :func:`evaluate_stream_links` and :func:`evaluate_stream_events`: interaction-stream models;
  score the test rows batch by batch, then append each batch (``partial_fit(..., update_only=True)``),
  AP and ROC-AUC; links against random, historical or inductive negatives, with MRR.

Beside them: the session splits of the command line (:func:`load_session_split`,
:func:`synthetic_session_split`, :func:`with_users`) and the reporting helpers
(:func:`format_table`, :func:`headline_margin`, :func:`plot_results`).
"""
import sys
import time
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from . import datasets
from ._arrays import group_targets
from ._negatives import NEGATIVE_STRATEGIES, StreamNegativeSampler
from ._validation import check_ids, check_k
from .datasets import make_sessions
from .metrics import mrr_at_k, ndcg_at_k, precision_at_k, rank_against_negatives, recall_at_k
from .preprocessing import session_prefixes, srgnn_preprocess

__all__ = [
    "evaluate_bipartite",
    "evaluate_recommenders",
    "evaluate_stream_events",
    "evaluate_stream_links",
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


def evaluate_bipartite(models, train_edges, test_edges, k=20, *, user_column="user", item_column="item",
                       return_estimators=False):
    """Fit every model on ``train_edges`` and rank all items for every test user.

    Parameters
    ----------
    models : dict of str to estimator
        Unfitted bipartite recommenders (cloned before fitting), by display name.
    train_edges, test_edges : DataFrame
        Training edges and held-out edges (``user_column``, ``item_column``).
    k : int, default=20
        Cut-off of Recall@k and NDCG@k.
    user_column, item_column : str, default="user", "item"
        Column names.
    return_estimators : bool, default=False
        Also return the fitted clones (e.g. to read their ``history_``).

    Returns
    -------
    results : DataFrame
        One row per model (index: the names) with ``Recall@k``, ``NDCG@k``, ``fit_s`` (wall
        seconds of ``fit``), ``s_per_epoch`` (``fit_s / n_epochs``, NaN without epochs),
        ``n_epochs``, ``recommend_s`` (wall seconds ranking every test user) and ``users_per_s``.
        Training items are excluded from the rankings; test users unseen in training get the
        popularity ranking.
    estimators : dict of str to estimator
        The fitted clones by name; only when ``return_estimators=True``.

    See Also
    --------
    sklearn_ubergnn.disentangled.train_test_split_edges : The per-user split this loop expects.

    Examples
    --------
    >>> from sklearn_ubergnn.datasets import make_bipartite
    >>> from sklearn_ubergnn.disentangled import MostPopularRecommender, train_test_split_edges
    >>> from sklearn_ubergnn.evaluation import evaluate_bipartite
    >>> edges, _, _ = make_bipartite(n_users=30, n_items=20, random_state=0)
    >>> train, test = train_test_split_edges(edges, 0.25, random_state=0)
    >>> evaluate_bipartite({"pop": MostPopularRecommender()}, train, test, k=5).columns.tolist()[:2]
    ['Recall@5', 'NDCG@5']
    """
    k = check_k(k)
    users, truth = group_targets(check_ids(test_edges[user_column], input_name="test_edges[user]"),
                                 check_ids(test_edges[item_column], input_name="test_edges[item]"))
    rows, fitted = [], {}
    for name, model in models.items():
        est = fitted[name] = clone(model)
        start = time.perf_counter()
        est.fit(train_edges)
        fit_s = time.perf_counter() - start
        check_is_fitted(est)
        start = time.perf_counter()
        ranked = est.recommend(users, k=k, exclude_seen=True)
        recommend_s = time.perf_counter() - start
        history = getattr(est, "history_", None)
        n_epochs = len(history) if history is not None else 0
        rows.append({
            "model": name,
            f"Recall@{k}": recall_at_k(truth, ranked, k=k),
            f"NDCG@{k}": ndcg_at_k(truth, ranked, k=k),
            "fit_s": fit_s,
            "s_per_epoch": fit_s / n_epochs if n_epochs else float("nan"),
            "n_epochs": n_epochs,
            "recommend_s": recommend_s,
            "users_per_s": len(users) / max(recommend_s, 1e-9),
        })
    results = pd.DataFrame(rows).set_index("model")
    return (results, fitted) if return_estimators else results


@validate_params(
    {
        "negatives": [StrOptions(set(NEGATIVE_STRATEGIES))],
        "n_negatives": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "history": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def evaluate_stream_links(model, test, objects, *, random_state=None, batch_size=200, negatives="random",
                          n_negatives=1, history=None):
    """Score every test interaction against sampled negatives, batch by batch, appending each batch after.

    The protocol of dynamic link prediction (DyGLib/TGN): each positive row ``(source, target,
    time)`` is paired with ``n_negatives`` negatives at the same time; a batch is scored with
    ``predict_link_proba``, then its positive rows are appended to the model's history
    (``partial_fit(batch, update_only=True)``), so that no row is scored with knowledge of itself
    or of later rows. The negatives follow DyGLib's three strategies (Yu et al. 2023, after
    Poursafaei et al. 2022); pairs are directed:

    ``"random"``
        The positive's source, a target drawn uniformly from ``objects``. No collision check (as
        DyGLib): a negative repeats a positive with probability about ``1 / len(objects)``.
    ``"historical"``
        Pairs seen before the batch (in ``history``, the model's history at the start, or in the
        test batches already appended) and not in the batch.
    ``"inductive"``
        Pairs first seen in the test batches already appended: not in ``history`` and not in the
        batch.

    Historical and inductive negatives are whole pairs that replace both ends of the positive, as
    in DyGLib, and are drawn without replacement within a batch. When fewer such pairs exist than
    the batch needs (early batches of ``"inductive"``, always), all of them are used and the rest
    are random negatives redrawn until none is a pair of the batch.

    Parameters
    ----------
    model : DynamicGraphEmbedder, EdgeBankBaseline or RecencyHeuristicBaseline
        Fitted on the interactions before ``test``.
    test : DataFrame
        Test interactions in time order (``source``, ``target``, ``time`` and the model's
        feature columns). Negatives copy their positive's other columns.
    objects : array-like of shape (n_objects,)
        The ids random targets are drawn from (uniformly).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the negative sampling (:func:`numpy.random.default_rng`). With
        ``negatives="random"`` and ``n_negatives=1`` the draws, hence the figures, are those of the
        loop before these options existed.
    batch_size : int, default=200
        Rows scored before they are appended.
    negatives : {"random", "historical", "inductive"}, default="random"
        How negatives are drawn (above).
    n_negatives : int, default=1
        Negatives per positive.
    history : DataFrame or None, default=None
        The interactions the model was fitted on (``source`` and ``target`` columns); needed by
        ``"historical"`` and ``"inductive"``, ignored by ``"random"``.

    Returns
    -------
    result : dict
        ``ap``, ``auc`` (fractions, :func:`~sklearn.metrics.average_precision_score` and
        :func:`~sklearn.metrics.roc_auc_score` over all scored rows, each negative one row),
        ``mrr``, ``hits@1`` and ``hits@10`` (the rank of each positive among itself and its own
        negatives, ties sharing the mean of their ranks as in TGB; see
        :func:`~sklearn_ubergnn.metrics.rank_against_negatives`), ``score_s`` (seconds in
        ``predict_link_proba``) and ``n_scored`` (positives + negatives).

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``history`` is missing for historical or inductive
        negatives.

    See Also
    --------
    evaluate_stream_events : The same stream protocol for labelled events.

    References
    ----------
    L. Yu, L. Sun, B. Du, W. Lv. Towards Better Dynamic Graph Learning: New Architecture and
    Unified Library. NeurIPS 2023.

    F. Poursafaei, S. Huang, K. Pelrine, R. Rabbany. Towards Better Evaluation for Dynamic Link
    Prediction. NeurIPS 2022 Datasets and Benchmarks.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn.dynamic import EdgeBankBaseline
    >>> from sklearn_ubergnn.evaluation import evaluate_stream_links
    >>> X = pd.DataFrame({"source": [1, 2, 1, 3, 1, 2], "target": [2, 3, 3, 1, 2, 3],
    ...                   "time": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> train, test = X[:3], X[3:]
    >>> result = evaluate_stream_links(EdgeBankBaseline().fit(train), test, [1, 2, 3], random_state=0,
    ...                                negatives="historical", history=train)
    >>> result["n_scored"], sorted(result)
    (6, ['ap', 'auc', 'hits@1', 'hits@10', 'mrr', 'n_scored', 'score_s'])
    """
    if negatives != "random" and history is None:
        raise ValueError(f"negatives={negatives!r} needs history=, the interactions the model was fitted on "
                         "(source and target columns); only negatives='random' works without it.")
    objects = check_ids(objects, input_name="objects")
    rng = np.random.default_rng(random_state)
    sampler = StreamNegativeSampler(
        negatives, objects,
        None if history is None else (_column(history, "source", "history"), _column(history, "target", "history")),
        (_column(test, "source", "test"), _column(test, "target", "test")), n_negatives, rng)
    y, p, ranks = [], [], []
    t_score = 0.0
    for rows in gen_batches(len(test), batch_size):
        pos = test.iloc[rows]
        sources, targets = pos["source"].to_numpy(), pos["target"].to_numpy()
        neg = pos.iloc[np.repeat(np.arange(len(pos)), n_negatives)].copy()
        neg["source"], neg["target"] = sampler.sample(sources, targets)
        t0 = time.perf_counter()
        scores = np.asarray(model.predict_link_proba(pd.concat([pos, neg], ignore_index=True)), dtype=np.float64)
        t_score += time.perf_counter() - t0
        p.append(scores)
        y.append(np.r_[np.ones(len(pos)), np.zeros(len(neg))])
        ranks.append(rank_against_negatives(scores[:len(pos)], scores[len(pos):].reshape(len(pos), n_negatives)))
        model.partial_fit(pos, update_only=True)  # one signature for EdgeBank and the neural models
        sampler.append(sources, targets)
    y, p, ranks = np.concatenate(y), np.concatenate(p), np.concatenate(ranks)
    return {"ap": average_precision_score(y, p), "auc": roc_auc_score(y, p), "score_s": t_score,
            "n_scored": len(y), "mrr": float(np.mean(1.0 / ranks)), "hits@1": float(np.mean(ranks <= 1)),
            "hits@10": float(np.mean(ranks <= 10))}


def _column(frame, name, input_name):
    """One id column of a table, with an error naming the table when it is missing."""
    if not hasattr(frame, "columns") or name not in frame.columns:
        columns = list(getattr(frame, "columns", []))
        raise ValueError(f"{input_name} must be a DataFrame with a {name!r} column; got columns {columns}.")
    return frame[name].to_numpy()


def evaluate_stream_events(model, test, columns, *, label="label", batch_size=200):
    """Score the test events batch by batch, revealing each batch's labels after it is scored.

    A batch is scored with ``predict_proba`` (probability of the positive class), then appended
    with its labels (``partial_fit(batch, labels, update_only=True)``), so that a label is never
    seen before its event is scored.

    Parameters
    ----------
    model : DynamicInteractionClassifier
        Fitted on the events before ``test``.
    test : DataFrame
        Test events in time order, with the ``columns`` the model reads and the ``label`` column.
    columns : list of str
        Columns passed to the model (``source``, ``target``, ``time`` and feature columns).
    label : str, default="label"
        Column of the binary labels.
    batch_size : int, default=200
        Rows scored before their labels are revealed.

    Returns
    -------
    result : dict
        ``ap``, ``auc``, ``score_s`` and ``n_scored`` as :func:`evaluate_stream_links`, and
        ``proba``: the score of each test row as it was scored (an ndarray in the order of
        ``test``), for per-period curves or paired comparisons of two models on the same rows.
    """
    p, t_score = [], 0.0
    for rows in gen_batches(len(test), batch_size):
        part = test.iloc[rows]
        t0 = time.perf_counter()
        p.append(model.predict_proba(part[columns])[:, 1])
        t_score += time.perf_counter() - t0
        model.partial_fit(part[columns], part[label], update_only=True)
    p, y = np.concatenate(p), test[label].to_numpy()
    return {"ap": average_precision_score(y, p), "auc": roc_auc_score(y, p), "score_s": t_score,
            "n_scored": len(y), "proba": p}


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
    for rows in gen_batches(len(X), chunk_size):
        chunk = X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]
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
