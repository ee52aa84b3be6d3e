"""Top-k recommendations for click tables too large for one process (docs/scaling.md).

:func:`recommend_clicks` ranks the sessions of one pandas table of clicks (one row per click) with
one ``recommend`` call and returns a long table (session, rank, item) that writes to Parquet as
it is. :func:`recommend_dask` maps it over the partitions of a dask DataFrame, after sending the
fitted model once to each worker; a Spark job can map it over groups with ``applyInPandas``.
dask is imported when :func:`recommend_dask` is called, so the package itself does not need it:
``pip install "sklearn_ubergnn[distributed]"``.
"""
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._arrays import offsets_from_lengths
from ._docstrings import fill_doc
from ._validation import FlatSessions, check_ids, check_k
from .pipeline import recommend

__all__ = ["recommend_clicks", "recommend_dask"]

#: Column of the result that holds each item's place in its session's list (1 = best).
RANK_COLUMN = "rank"


@dataclass(frozen=True)
class _Columns:
    """Column names of a click table, as :func:`_rank_clicks` reads them."""

    session: str
    item: str
    time: object = None
    users: tuple = ()
    order: object = None  # the click-order column added before a shuffle, if any


@fill_doc
def recommend_clicks(
    estimator, clicks, *, k=20, session_column="session", item_column="item", time_column=None, user_columns=None
):
    """Recommend ``k`` items to every session of a pandas table of clicks, with one ``recommend`` call.

    The clicks are grouped into sessions with whole-array NumPy (no loop over sessions), so the
    result equals ``estimator.recommend`` on the same sessions. Every click of a session must be
    in ``clicks``: this is the function to map over the partitions of a distributed table whose
    sessions each lie in one partition (:func:`recommend_dask` does it for dask; docs/scaling.md
    has a Spark recipe).

    Parameters
    ----------
    estimator : fitted recommender or fitted Pipeline ending in one
        Anything with ``recommend(X, k)`` that takes sessions as sequences of item ids, e.g.
        :class:`~sklearn_ubergnn.session.UberGNNRecommender` or
        :class:`~sklearn_ubergnn.session.SessionKNNRecommender`.
    clicks : pandas.DataFrame
        The clicks in long format, one row per click: a session id, an item id and, optionally,
        a click time and user-portrait columns; other columns are ignored. Not modified.
    {click_columns}

    Returns
    -------
    recommendations : pandas.DataFrame
        One row per session and rank: ``session_column`` (the session id, dtype kept), ``rank``
        (``int32``, 1 = best) and ``item_column`` (``int64`` ids, or strings). A session's rows are
        consecutive and in rank order. Sessions come in the order of their first row in ``clicks``.

    Raises
    ------
    TypeError
        If ``clicks`` is not a pandas DataFrame or ``estimator`` cannot recommend.
    NotFittedError
        If ``estimator`` is not fitted.
    ValueError
        If ``k`` is not a positive integer, a named column is missing, or a session id, item id
        or click time is missing.

    See Also
    --------
    recommend_dask : The same over a dask DataFrame, partition by partition.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn import SessionKNNRecommender
    >>> from sklearn_ubergnn.distributed import recommend_clicks
    >>> model = SessionKNNRecommender().fit([[1, 2], [2, 3], [3, 4], [1, 3]], [3, 4, 1, 4])
    >>> clicks = pd.DataFrame({"session": [7, 8, 7], "item": [1, 3, 2]})  # 7: [1, 2], 8: [3]
    >>> print(recommend_clicks(model, clicks, k=2).to_string(index=False))
     session  rank  item
           7     1     3
           7     2     2
           8     1     3
           8     2     1
    >>> model.recommend([[1, 2], [3]], k=2)
    array([[3, 2],
           [3, 1]])
    """
    if not isinstance(clicks, pd.DataFrame):
        raise TypeError(
            f"clicks must be a pandas DataFrame, got {_type_name(clicks)}; for a dask DataFrame use "
            "recommend_dask."
        )
    k, columns, from_index = _check_call(estimator, clicks, k, session_column, item_column, time_column,
                                         user_columns)
    return _rank_clicks(clicks.reset_index() if from_index else clicks, estimator, k=k, columns=columns)


@fill_doc
def recommend_dask(
    estimator,
    clicks,
    *,
    k=20,
    session_column="session",
    item_column="item",
    time_column=None,
    user_columns=None,
    shuffle=True,
    output=None,
):
    """Recommend ``k`` items to every session of a dask DataFrame of clicks, partition by partition.

    The fitted ``estimator`` is sent once to each dask worker: with a ``distributed`` client it is
    scattered to all workers (``client.scatter(..., broadcast=True)``); without one it enters the
    task graph as one task that every partition depends on. Each partition is then ranked by
    :func:`recommend_clicks`, with one ``recommend`` call, so the result is what
    ``estimator.recommend`` gives in one process on the same sessions.

    Parameters
    ----------
    estimator : fitted recommender or fitted Pipeline ending in one
        Anything with ``recommend(X, k)`` that takes sessions as sequences of item ids, e.g.
        :class:`~sklearn_ubergnn.session.UberGNNRecommender` or
        :class:`~sklearn_ubergnn.session.SessionKNNRecommender`.
    clicks : dask.dataframe.DataFrame
        The clicks in long format, one row per click: a session id, an item id and, optionally,
        a click time and user-portrait columns; other columns are dropped first. The session id
        may be the index (as after ``set_index(session_column)``). Not modified.
    {click_columns}
    shuffle : bool, default=True
        Whether to bring every session's clicks into one partition first (``shuffle`` on the
        session column, row order within a session kept). Skipped when the session id is the
        index and the divisions are known. ``False`` when each session's clicks already lie in
        one partition (e.g. a table written after such a shuffle): a session split over several
        partitions is then ranked once per partition, on the clicks that partition holds.
    output : str or path-like, default=None
        Write the result to this Parquet directory (``to_parquet(output, write_index=False)``)
        and return None. None: return the lazy result.

    Returns
    -------
    recommendations : dask.dataframe.DataFrame or None
        One row per session and rank: ``session_column`` (the session id, dtype kept), ``rank``
        (``int32``, 1 = best) and ``item_column`` (``int64`` ids, or strings). A session's rows are
        consecutive and in rank order; the order of the sessions is not specified. None when
        ``output`` is given.

    Raises
    ------
    ImportError
        If dask (``dask[dataframe]``) is not installed.
    TypeError
        If ``clicks`` is not a dask DataFrame or ``estimator`` cannot recommend.
    NotFittedError
        If ``estimator`` is not fitted.
    ValueError
        If ``k`` is not a positive integer or a named column is missing. Missing session ids,
        item ids or times are reported when the partition holding them is computed.

    See Also
    --------
    recommend_clicks : The same for one pandas DataFrame (what each partition gets).

    Notes
    -----
    With a ``distributed`` client, compute the result on that client: the model is scattered to
    its workers, where it stays as long as the returned DataFrame exists. A task holds one
    partition's clicks, its sessions as flat arrays, its result, and the scores of one batch
    (``batch_size`` sessions by the catalogue), besides the worker's copy of the model. Use one
    thread per worker process (``threads_per_worker=1``), as for searches.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> from sklearn_ubergnn import SessionKNNRecommender
    >>> from sklearn_ubergnn.distributed import recommend_dask
    >>> model = SessionKNNRecommender().fit([[1, 2], [2, 3], [3, 4], [1, 3]], [3, 4, 1, 4])
    >>> clicks = dd.from_pandas(pd.DataFrame({"session": [7, 8, 7], "item": [1, 3, 2]}), npartitions=2)
    >>> recs = recommend_dask(model, clicks, k=2).compute()
    >>> print(recs.sort_values(["session", "rank"]).to_string(index=False))
     session  rank  item
           7     1     3
           7     2     2
           8     1     3
           8     2     1
    """
    dd = _import_dask_dataframe()
    if not isinstance(clicks, dd.DataFrame):
        raise TypeError(
            f"clicks must be a dask DataFrame, got {_type_name(clicks)}; wrap a pandas DataFrame with "
            "dask.dataframe.from_pandas(df, npartitions=...), or rank it with recommend_clicks."
        )
    k, columns, from_index = _check_call(estimator, clicks, k, session_column, item_column, time_column,
                                         user_columns)
    kept = [c for c in (columns.item, columns.time, *columns.users) if c is not None]
    frame = clicks[kept].reset_index() if from_index else clicks[[columns.session, *kept]]
    if shuffle and not (from_index and clicks.known_divisions):
        order = _unused_name(frame.columns, "_click_order")
        frame = frame.map_partitions(_with_click_order, order, meta=frame._meta.assign(**{order: np.int64(0)}))
        frame = frame.shuffle(on=columns.session)
        columns = _Columns(columns.session, columns.item, columns.time, columns.users, order)
    meta = _rank_clicks(frame._meta, estimator, k=k, columns=columns)
    result = frame.map_partitions(_rank_clicks, _broadcast(estimator), k=k, columns=columns, meta=meta)
    if output is None:
        return result
    result.to_parquet(output, write_index=False)
    return None


# ----------------------------------------------------------------------------------- checks
def _import_dask_dataframe():
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise ImportError(
            f'recommend_dask needs dask with its dataframe extra ({exc}); install it with '
            'pip install "sklearn_ubergnn[distributed]".'
        ) from exc
    return dd


def _type_name(obj):
    return f"{type(obj).__module__}.{type(obj).__name__}"


def _final(estimator):
    return estimator._final_estimator if isinstance(estimator, Pipeline) else estimator


def _check_call(estimator, clicks, k, session_column, item_column, time_column, user_columns):
    """The checks both entry points make: ``(k, columns, from_index)`` of a valid call."""
    _check_recommender(estimator)
    columns, from_index = _check_columns(clicks, session_column, item_column, time_column, user_columns)
    return check_k(k), columns, from_index


def _check_recommender(estimator):
    if not hasattr(_final(estimator), "recommend"):
        raise TypeError(
            "estimator must be a fitted recommender (with a recommend(X, k) method) or a Pipeline "
            f"ending in one; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _check_columns(clicks, session_column, item_column, time_column, user_columns):
    """The column names as a :class:`_Columns`, and whether the session ids are the index."""
    present = list(clicks.columns)
    from_index = session_column not in present and clicks.index.name == session_column
    if session_column not in present and not from_index:
        raise ValueError(
            f"clicks has no session column {session_column!r} (columns {present}, index "
            f"{clicks.index.name!r}); name the column of session ids with session_column=..."
        )
    if isinstance(user_columns, str):
        raise TypeError(f"user_columns must be a list of column names, got the string {user_columns!r}.")
    users = tuple(user_columns) if user_columns is not None else ()
    for role, name in [("item_column", item_column), ("time_column", time_column), *(
            ("user_columns", name) for name in users)]:
        if name is not None and name not in present:
            raise ValueError(f"clicks has no column {name!r} ({role}); its columns are {present}.")
    if RANK_COLUMN in (session_column, item_column):
        raise ValueError(f"the result has a {RANK_COLUMN!r} column; rename the session or item column.")
    return _Columns(session_column, item_column, time_column, users), from_index


def _unused_name(columns, name):
    while name in columns:
        name = f"_{name}"
    return name


# ----------------------------------------------------------------------------------- broadcast
def _current_client():
    """The current ``distributed`` client, or None (no client, or distributed not installed)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client
        return None


def _broadcast(estimator):
    """The model as one piece of data that every partition task depends on, sent once per worker.

    A future scattered to every worker of the current client; without a client, a named
    ``dask.delayed`` (named, so that dask does not pickle the model to tokenize it).
    """
    client = _current_client()
    if client is not None:
        return client.scatter(estimator, broadcast=True, hash=False)
    import dask

    return dask.delayed(estimator, name=f"recommender-{uuid.uuid4().hex}")


# ----------------------------------------------------------------------------------- per partition
def _with_click_order(part, name, partition_info=None):
    """``part`` with a column that sorts its rows after all rows of earlier partitions."""
    number = partition_info["number"] if partition_info else 0
    return part.assign(**{name: (np.int64(number) << 32) + np.arange(len(part), dtype=np.int64)})


def _rank_clicks(part, estimator, *, k, columns, partition_info=None):
    """The long table of top-``k`` items for the sessions of one table (one ``recommend`` call)."""
    where = f" (partition {partition_info['number']})" if partition_info else ""
    session_ids = part[columns.session]
    codes, uniques = pd.factorize(session_ids)
    if (codes < 0).any():
        raise ValueError(f"clicks[{columns.session!r}] has missing session ids{where}; drop those clicks first.")
    keys = [codes]
    if columns.time is not None:
        ranks, _ = pd.factorize(part[columns.time], sort=True)  # dense ranks of any sortable dtype
        if (ranks < 0).any():
            raise ValueError(f"clicks[{columns.time!r}] has missing click times{where}; drop or fill them.")
        keys.insert(0, ranks)
    if columns.order is not None:
        keys.insert(0, part[columns.order].to_numpy())
    order = np.lexsort(keys)  # by session, then time, then row (lexsort is stable)
    n_sessions = len(uniques)
    offsets = offsets_from_lengths(np.bincount(codes, minlength=n_sessions))
    first = order[offsets[:-1]]  # each session's first click, in click order
    classes = np.asarray(_final(estimator).classes_)
    if n_sessions:
        missing = part[columns.item].isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"clicks[{columns.item!r}] has a missing item id in session "
                f"{_plain(session_ids.iloc[np.flatnonzero(missing)[0]])!r}{where}; drop those clicks first."
            )
        items = check_ids(part[columns.item].to_numpy(), input_name=f"clicks[{columns.item!r}]")
        X = FlatSessions(items[order], offsets)
        if columns.users:
            X = _with_users(estimator, X, part[list(columns.users)].iloc[first])
        ranked = np.asarray(recommend(estimator, X, k=k))
    else:  # no clicks (an empty partition, or dask's meta): an empty table of the same dtypes
        ranked = np.empty((0, min(k, len(classes))), dtype=classes.dtype)
    width = ranked.shape[1]
    ranked_items = pd.Series(ranked.reshape(-1), dtype=np.int64 if classes.dtype.kind in "iu" else object)
    return pd.DataFrame(
        {
            columns.session: session_ids.iloc[first].repeat(width).reset_index(drop=True),
            RANK_COLUMN: np.tile(np.arange(1, width + 1, dtype=np.int32), n_sessions),
            columns.item: ranked_items if ranked_items.dtype == np.int64 else ranked_items.astype(str),
        }
    )


def _plain(value):
    """A NumPy scalar as the Python value it holds, for messages (``1004``, not ``np.int64(1004)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _with_users(estimator, sessions, users):
    """The DataFrame input of a user-aware model: its session column plus one portrait row per session."""
    name = _final(estimator).get_params().get("session_column")
    if name is None:
        raise TypeError(
            f"user_columns were given, but {type(_final(estimator)).__name__} takes no user columns (it "
            "has no session_column parameter); leave user_columns=None."
        )
    lists = pd.Series(np.split(sessions.items, sessions.offsets[1:-1]), dtype=object, name=name)
    return pd.concat([lists, users.reset_index(drop=True)], axis=1)
