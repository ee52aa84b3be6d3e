"""Preprocessing for session recommendation: filtering, prefix samples, time splits, user fields.

- :func:`filter_rare_items` drops rare items and the sessions they leave too short.
- :func:`session_prefixes` turns sessions into next-item samples ``([v1], v2), ([v1, v2], v3), ...``.
- :func:`temporal_split` splits sessions by time, the latest ones for testing.
- :func:`srgnn_preprocess` chains the above exactly as SR-GNN's ``preprocess.py`` does.
- :class:`UserPortraitEncoder` turns a user table into integer fields for a DeepFM user model.

Session functions work on the flat layout of :class:`~sklearn_ubergnn._validation.FlatSessions`
with whole-array NumPy operations; only the final conversion to lists of lists is per session.
"""
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import (
    _check_feature_names,
    _check_feature_names_in,
    _check_n_features,
    check_array,
    check_is_fitted,
)

from ._arrays import gather_segments, offsets_from_lengths
from ._validation import FlatSessions, check_sessions

__all__ = [
    "UserPortraitEncoder",
    "filter_rare_items",
    "session_prefixes",
    "srgnn_preprocess",
    "temporal_split",
]

_SECONDS_PER_DAY = 86400


# ---------------------------------------------------------------------------------------
# Flat helpers (FlatSessions in, FlatSessions out)
# ---------------------------------------------------------------------------------------
def _subset(sessions, keep_click, keep_session):
    """Sessions ``keep_session`` (bool mask) restricted to the clicks ``keep_click`` (bool mask)."""
    keep_click = keep_click & keep_session[sessions.session_index]
    lengths = np.bincount(sessions.session_index[keep_click], minlength=len(sessions))[keep_session]
    offsets = offsets_from_lengths(lengths)
    return FlatSessions(sessions.items[keep_click], offsets)


def _filter_rare_flat(sessions, min_item_count, min_session_length, until_stable):
    """Filter validated sessions; return ``(kept FlatSessions, indices of kept sessions)``."""
    _, codes = np.unique(sessions.items, return_inverse=True)
    codes = codes.ravel()
    session_of = sessions.session_index
    keep_click = np.ones(len(codes), dtype=bool)
    keep_session = np.ones(len(sessions), dtype=bool)
    while True:
        counts = np.bincount(codes[keep_click], minlength=int(codes.max(initial=-1)) + 1)
        new_click = keep_click & (counts[codes] >= min_item_count)
        lengths = np.bincount(session_of[new_click], minlength=len(sessions))
        new_session = keep_session & (lengths >= min_session_length)
        new_click &= new_session[session_of]
        changed = not np.array_equal(new_click, keep_click)
        keep_click, keep_session = new_click, new_session
        if not (until_stable and changed):
            break
    return _subset(sessions, keep_click, keep_session), np.flatnonzero(keep_session)


def _prefix_index(sessions, min_prefix_length, order):
    """Session and prefix length of every prefix sample, in the requested order."""
    counts = np.maximum(sessions.lengths - min_prefix_length, 0)
    session = np.repeat(np.arange(len(sessions), dtype=np.int64), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    step = np.arange(len(session), dtype=np.int64) - starts  # 0, 1, ... within each session
    if order == "forward":
        length = min_prefix_length + step
    else:  # "srgnn": longest prefix first (target s[-1], then s[-2], ...)
        length = sessions.lengths[session] - 1 - step
    return session, length


def _prefixes_flat(sessions, min_prefix_length, order, as_flat=False):
    """``(X, y ndarray, session index)`` of every prefix of validated sessions.

    ``X`` is a list of lists, or with ``as_flat`` a :class:`FlatSessions` gathered block by block
    (:func:`~sklearn_ubergnn._arrays.gather_segments`; no Python object per prefix).
    """
    session, length = _prefix_index(sessions, min_prefix_length, order)
    start = sessions.offsets[session]
    y = sessions.items[start + length]
    if as_flat:
        offsets = offsets_from_lengths(length)
        return FlatSessions(gather_segments(sessions.items, start, length), offsets), y, session
    flat = sessions.items.tolist()
    X = [flat[a:b] for a, b in zip(start.tolist(), (start + length).tolist())]
    return X, y, session


def _check_times(times, n_sessions=None):
    """Validate per-session times; return float64 seconds."""
    if isinstance(times, (str, bytes)) or not hasattr(times, "__len__"):
        raise TypeError(f"times must be a 1-D array-like of per-session times, got {type(times).__name__}.")
    values = times.to_numpy() if isinstance(times, (pd.Series, pd.Index)) else np.asarray(times)
    if values.ndim != 1:
        raise ValueError(f"times must be 1-D (one time per session), got an array of shape {values.shape}.")
    if n_sessions is not None and len(values) != n_sessions:
        raise ValueError(
            f"sessions and times must have the same length; got {n_sessions} sessions and {len(values)} times."
        )
    if len(values) == 0:
        raise ValueError("times must contain at least one value; got an empty sequence.")
    if values.dtype.kind == "M" or values.dtype == object and isinstance(values[0], (pd.Timestamp, np.datetime64)):
        stamps = pd.to_datetime(values)
        if getattr(stamps, "tz", None) is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        missing = np.asarray(stamps.isna())
        seconds = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    elif values.dtype.kind in "iuf":
        seconds = values.astype(np.float64)
        missing = np.isnan(seconds)
    else:
        raise TypeError(
            "times must be numbers (e.g. Unix seconds) or datetimes, got an array of dtype "
            f"{values.dtype}. Convert with pd.to_datetime(...) first."
        )
    bad = missing | ~np.isfinite(seconds)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"times must be finite and not missing; times[{i}] is {values[i]!r}.")
    return seconds


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------
@validate_params(
    {
        "sessions": [FlatSessions, "array-like"],
        "min_item_count": [Interval(Integral, 1, None, closed="left")],
        "min_session_length": [Interval(Integral, 1, None, closed="left")],
        "until_stable": ["boolean"],
        "return_index": ["boolean"],
        "as_flat": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def filter_rare_items(sessions, *, min_item_count=5, min_session_length=2, until_stable=True,
                      return_index=False, as_flat=False):
    """Drop rare items, then the sessions they leave too short.

    One pass: count how often every item occurs over ``sessions``, remove the clicks on
    items seen fewer than ``min_item_count`` times, then remove the sessions left with fewer
    than ``min_session_length`` clicks. Removing sessions lowers other items' counts, so
    with ``until_stable=True`` passes repeat until nothing changes: every remaining item then
    occurs at least ``min_item_count`` times and every session has at least
    ``min_session_length`` clicks. ``until_stable=False`` does a single pass, SR-GNN's
    protocol (afterwards some items may occur fewer than ``min_item_count`` times).

    Parameters
    ----------
    sessions : sequence of sequences of item ids
        Sessions in click order (a list of lists, a list of arrays, a pandas Series of lists
        or a ``FlatSessions``). Item ids are all integers or all strings.
    min_item_count : int, default=5
        Items seen fewer times than this are removed.
    min_session_length : int, default=2
        Sessions left with fewer clicks than this are removed.
    until_stable : bool, default=True
        Repeat passes until no item and no session is removed.
    return_index : bool, default=False
        Also return the positions in ``sessions`` of the sessions kept.
    as_flat : bool, default=False
        Return the kept sessions as a :class:`~sklearn_ubergnn.datasets.FlatSessions` instead
        of a list of lists.

    Returns
    -------
    filtered : list of list or FlatSessions
        The kept sessions, in input order, each keeping the order of its remaining clicks.
        Empty when nothing survives.
    index : ndarray of shape (n_kept,), int64
        Positions of the kept sessions in ``sessions``; only when ``return_index=True``.

    See Also
    --------
    srgnn_preprocess : The whole SR-GNN protocol, which uses a single pass.

    Examples
    --------
    >>> from sklearn_ubergnn.preprocessing import filter_rare_items
    >>> sessions = [[1, 2, 3], [1, 2], [2, 4], [1, 3]]
    >>> filter_rare_items(sessions, min_item_count=2, return_index=True)
    ([[1, 2, 3], [1, 2], [1, 3]], array([0, 1, 3]))
    >>> filter_rare_items(sessions, min_item_count=3, until_stable=False)  # one pass
    [[1, 2], [1, 2]]
    >>> filter_rare_items(sessions, min_item_count=3)  # then 1 and 2 occur twice only
    []
    """
    flat = check_sessions(sessions, input_name="sessions")
    kept, index = _filter_rare_flat(flat, min_item_count, min_session_length, until_stable)
    filtered = kept if as_flat else kept.to_list()  # [] when no session is kept
    return (filtered, index) if return_index else filtered


@validate_params(
    {
        "sessions": [FlatSessions, "array-like"],
        "min_prefix_length": [Interval(Integral, 1, None, closed="left")],
        "order": [StrOptions({"forward", "srgnn"})],
        "return_session_index": ["boolean"],
        "as_flat": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def session_prefixes(sessions, *, min_prefix_length=1, order="forward", return_session_index=False,
                     as_flat=False):
    """Every prefix of every session with its next item, as ``(X, y)`` training samples.

    A session ``[v1, v2, v3, v4]`` gives ``([v1], v2), ([v1, v2], v3), ([v1, v2, v3], v4)``:
    the data augmentation of GRU4Rec's successors, SR-GNN and UBER-GNN. Sessions with at
    most ``min_prefix_length`` clicks give no sample.

    Parameters
    ----------
    sessions : sequence of sequences of item ids
        Sessions in click order (a list of lists, a list of arrays, a pandas Series of lists
        or a ``FlatSessions``).
    min_prefix_length : int, default=1
        Shortest prefix to emit.
    order : {"forward", "srgnn"}, default="forward"
        Order of the samples of one session (sessions always follow input order).
        ``"forward"``: shortest prefix first, as above. ``"srgnn"``: SR-GNN's order, longest
        prefix first: for ``i = 1, ..., len(s) - 1`` the input ``s[:-i]`` and the target
        ``s[-i]``. The set of samples is the same; only their order differs.
    return_session_index : bool, default=False
        Also return the position in ``sessions`` of each sample's session (use it for
        group-aware splits, e.g. :class:`~sklearn.model_selection.GroupKFold`).
    as_flat : bool, default=False
        Return the prefixes as a :class:`~sklearn_ubergnn.datasets.FlatSessions` (every
        prefix's items copied into one flat array, gathered with whole-array NumPy) instead
        of a list of lists: 8 bytes per prefix click instead of a Python list per prefix. The
        session estimators accept either, with the same results.

    Returns
    -------
    X : list of list or FlatSessions
        Prefixes (lists of ids, or one ``FlatSessions`` with ``as_flat=True``).
    y : ndarray of shape (n_samples,)
        Next item of each prefix (``int64`` or ``object`` holding ``str``).
    session_index : ndarray of shape (n_samples,), int64
        Session of each sample; only when ``return_session_index=True``.

    Examples
    --------
    >>> from sklearn_ubergnn.preprocessing import session_prefixes
    >>> X, y = session_prefixes([[1, 2, 3], [4, 5]])
    >>> X, y
    ([[1], [1, 2], [4]], array([2, 3, 5]))
    >>> session_prefixes([[1, 2, 3]], order="srgnn")
    ([[1, 2], [1]], array([3, 2]))
    >>> X, y = session_prefixes([[1, 2, 3], [4, 5]], as_flat=True)
    >>> X, X.items, X.offsets
    (FlatSessions(n_sessions=3, n_clicks=4), array([1, 1, 2, 4]), array([0, 1, 3, 4]))
    """
    flat = check_sessions(sessions, input_name="sessions")
    X, y, session = _prefixes_flat(flat, min_prefix_length, order, as_flat)
    return (X, y, session) if return_session_index else (X, y)


@validate_params(
    {
        "times": ["array-like"],
        "test_size": [Interval(Real, 0, 1, closed="neither"), Interval(Integral, 1, None, closed="left"), None],
        "test_days": [Interval(Real, 0, None, closed="neither"), None],
    },
    prefer_skip_nested_validation=True,
)
def temporal_split(times, *, test_size=None, test_days=None):
    """Split sessions by time: the latest sessions for testing, the others for training.

    Give exactly one of ``test_days`` or ``test_size``. The split is a time ``t_split``:

    - ``test_days``: ``t_split = max(times) - test_days * 86400``;
    - ``test_size``: ``t_split`` is the time of the latest training session when the
      ``test_size`` latest sessions are held out (a fraction of the sessions if a float in
      ``(0, 1)``, a number of sessions if an int).

    Training sessions have ``times <= t_split`` and test sessions ``times > t_split``, so
    sessions with equal times always fall on the same side (with ``test_size`` the test
    set may therefore be a little smaller than asked).

    Leakage: the split is free of look-ahead when ``times`` is each session's **last** click
    time: then every training click happens at or before ``t_split`` and every test session
    ends after it. With session start times, a training session may still run past
    ``t_split``. Item vocabularies, popularity counts and rare-item filters should be fitted
    on the training sessions only (:func:`srgnn_preprocess` does this).

    Parameters
    ----------
    times : array-like of shape (n_sessions,)
        One time per session: numbers (e.g. Unix seconds) or datetimes (``datetime64``,
        pandas ``Timestamp``; time zones are converted to UTC).
    test_size : float or int, default=None
        Fraction (float in ``(0, 1)``) or number (int) of the latest sessions to hold out.
    test_days : float, default=None
        Hold out the sessions of the last ``test_days`` days (86,400 s each) before the
        latest time.

    Returns
    -------
    train_index : ndarray of shape (n_train,), int64
        Positions of the training sessions, in increasing order (input order, not time order).
    test_index : ndarray of shape (n_test,), int64
        Positions of the test sessions, in increasing order.

    Raises
    ------
    ValueError
        If neither or both of ``test_size`` and ``test_days`` are given, ``times`` holds
        missing values, or one side of the split would be empty.

    Examples
    --------
    >>> from sklearn_ubergnn.preprocessing import temporal_split
    >>> day = 86400
    >>> temporal_split([0, 3 * day, day, 2 * day], test_days=1.5)
    (array([0, 2]), array([1, 3]))
    >>> temporal_split([0, 3 * day, day, 2 * day], test_size=0.25)
    (array([0, 2, 3]), array([1]))
    """
    if (test_size is None) == (test_days is None):
        raise ValueError(
            "give exactly one of test_size and test_days; got "
            f"test_size={test_size!r} and test_days={test_days!r}."
        )
    seconds = _check_times(times)
    n = len(seconds)
    if test_days is not None:
        split = seconds.max() - test_days * _SECONDS_PER_DAY
    else:
        n_test = int(test_size) if isinstance(test_size, Integral) else int(np.ceil(test_size * n))
        if n_test >= n:
            raise ValueError(f"test_size={test_size!r} holds out all {n} sessions; leave some for training.")
        split = np.partition(seconds, n - n_test - 1)[n - n_test - 1]
    test = seconds > split
    if not test.any() or test.all():
        side = "test" if not test.any() else "training"
        raise ValueError(
            f"the {side} set is empty: times range over {seconds.min()}..{seconds.max()} and the split "
            f"time is {split}. Use a {'larger' if side == 'test' else 'smaller'} test_size/test_days."
        )
    return np.flatnonzero(~test), np.flatnonzero(test)


@validate_params(
    {
        "sessions": [FlatSessions, "array-like"],
        "times": ["array-like"],
        "min_item_count": [Interval(Integral, 1, None, closed="left")],
        "test_days": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def srgnn_preprocess(sessions, times, *, min_item_count=5, test_days=7):
    """Reproduce SR-GNN's ``preprocess.py``: filter, split by date, renumber, augment.

    The steps of the reference implementation (CRIPAC-DIG/SR-GNN, ``datasets/preprocess.py``),
    on all sessions at once:

    1. drop sessions of length 1;
    2. count every item over the remaining sessions; in a **single** pass, remove the items
       seen fewer than ``min_item_count`` times, then the sessions left with fewer than 2
       clicks (see :func:`filter_rare_items` with ``until_stable=False``);
    3. split by session time: ``t_split = max(times) - test_days * 86400``; training sessions
       have ``times < t_split`` and test sessions ``times > t_split``. Sessions whose time
       equals ``t_split`` exactly are **dropped** from both sides, as SR-GNN does (with its
       day-resolution dates that is the whole day ``test_days`` days before the last one);
    4. sort each side by time (stable: sessions of the same time keep input order);
    5. renumber training items ``1, 2, ...`` in order of first appearance in the sorted
       training sessions;
    6. remove test clicks on items unseen in training, then test sessions shorter than 2;
    7. make prefix samples of both sides in SR-GNN's order
       (:func:`session_prefixes` with ``order="srgnn"``).

    Parameters
    ----------
    sessions : sequence of sequences of item ids
        Sessions in click order, in the order SR-GNN reads them (file order).
    times : array-like of shape (n_sessions,)
        One time per session: Unix seconds or datetimes. SR-GNN uses the session's date
        (midnight) for DIGINETICA and its time stamp for YOOCHOOSE.
    min_item_count : int, default=5
        Items seen fewer times are removed (step 2).
    test_days : float, default=7
        Length of the test period in days (SR-GNN: 7 for DIGINETICA, 1 for YOOCHOOSE).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With keys:

        - ``train_sessions``, ``test_sessions``: lists of lists of renumbered ids, sorted by
          time (SR-GNN's ``all_train_seq.txt`` is ``train_sessions``);
        - ``train_X``, ``train_y``, ``test_X``, ``test_y``: prefix samples (lists of lists and
          ``int64`` arrays), SR-GNN's ``train.txt`` and ``test.txt``;
        - ``item_map``: dict raw id -> new id (``1..n_items``);
        - ``n_items``: number of training items (SR-GNN's ``n_node`` is ``n_items + 1``);
        - ``train_index``, ``test_index``: positions in ``sessions`` of the sessions in
          ``train_sessions`` and ``test_sessions``;
        - ``split_time``: ``t_split`` in seconds.

    Raises
    ------
    ValueError
        If ``sessions`` and ``times`` differ in length, or a side of the split ends up empty.

    See Also
    --------
    filter_rare_items, temporal_split, session_prefixes : The building blocks.

    Examples
    --------
    >>> from sklearn_ubergnn.preprocessing import srgnn_preprocess
    >>> day = 86400
    >>> sessions = [["a", "b"], ["b", "a", "b"], ["a", "b", "c"], ["c"], ["b", "a"]]
    >>> res = srgnn_preprocess(sessions, [0, day, day, 2 * day, 9 * day], min_item_count=2)
    >>> res.train_sessions, res.item_map
    ([[1, 2], [2, 1, 2], [1, 2]], {'a': 1, 'b': 2})
    >>> res.test_X, res.test_y
    ([[2]], array([1]))
    """
    flat = check_sessions(sessions, input_name="sessions")
    seconds = _check_times(times, len(flat))
    # 1. sessions of length 1 go
    long_enough = flat.lengths >= 2
    flat = _subset(flat, np.ones(len(flat.items), dtype=bool), long_enough)
    index = np.flatnonzero(long_enough)
    # 2. one pass of rare-item filtering
    if len(flat):
        flat, kept = _filter_rare_flat(flat, min_item_count, 2, until_stable=False)
        index = index[kept]
    if not len(flat):
        raise ValueError(
            f"no session is left after dropping length-1 sessions and items seen fewer than "
            f"{min_item_count} times; lower min_item_count."
        )
    # 3.-4. split by time, sort each side by time
    t = seconds[index]
    split = t.max() - test_days * _SECONDS_PER_DAY
    train = np.flatnonzero(t < split)
    test = np.flatnonzero(t > split)
    train = train[np.argsort(t[train], kind="stable")]
    test = test[np.argsort(t[test], kind="stable")]
    if not len(train):
        raise ValueError(
            f"no training session: every kept session lies within {test_days} days of the last one; "
            "lower test_days."
        )
    train_flat = flat.take(train)
    test_flat = flat.take(test)
    # 5. renumber training items by first appearance
    raw, first, codes = np.unique(train_flat.items, return_index=True, return_inverse=True)
    rank = np.empty(len(raw), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(raw) + 1)
    train_flat = FlatSessions(rank[codes.ravel()], train_flat.offsets)
    # 6. test: drop unseen items, then short sessions
    pos = np.minimum(np.searchsorted(raw, test_flat.items), len(raw) - 1)
    known = raw[pos] == test_flat.items if len(test_flat.items) else np.zeros(0, dtype=bool)
    test_flat = FlatSessions(np.where(known, rank[pos], 0).astype(np.int64), test_flat.offsets)
    lengths = np.bincount(test_flat.session_index[known], minlength=len(test_flat))
    long_test = lengths >= 2
    test_flat = _subset(test_flat, known, long_test)
    test = test[long_test]
    # 7. prefixes in SR-GNN order
    train_X, train_y, _ = _prefixes_flat(train_flat, 1, "srgnn")
    test_X, test_y, _ = _prefixes_flat(test_flat, 1, "srgnn")
    order = np.argsort(rank)
    item_map = dict(zip(raw[order].tolist(), rank[order].tolist()))
    return Bunch(
        train_sessions=train_flat.to_list(),
        test_sessions=test_flat.to_list() if len(test_flat) else [],
        train_X=train_X,
        train_y=train_y,
        test_X=test_X,
        test_y=test_y,
        item_map=item_map,
        n_items=len(raw),
        train_index=index[train],
        test_index=index[test],
        split_time=float(split),
    )


# ---------------------------------------------------------------------------------------
# User portraits
# ---------------------------------------------------------------------------------------
def _is_categorical_dtype(dtype):
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _is_continuous_dtype(dtype):
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


class UserPortraitEncoder(TransformerMixin, BaseEstimator):
    """Encode a user table as integer fields for a DeepFM user model (UBER-GNN).

    Every column becomes one **field** of integer codes: categorical columns are coded
    by their category (:class:`~sklearn.preprocessing.OrdinalEncoder`), continuous columns by
    the bin they fall in (:class:`~sklearn.preprocessing.KBinsDiscretizer`), as UBER-GNN
    discretises continuous portrait features before embedding them. Code **0 of every field
    is reserved** for unknown and missing values; real values are coded ``1 ..
    field_sizes_[j] - 1``, so a field of size ``field_sizes_[j]`` fits an
    ``nn.Embedding(field_sizes_[j], d)`` whose row 0 stands for "unknown".

    - Categories unseen in ``fit`` and missing values (``None``, ``NaN``) -> 0.
    - Missing continuous values (``NaN``) -> 0. While bin edges are learnt they stand at
      the column median (a :class:`~sklearn.impute.SimpleImputer` inside), which slightly
      weights the middle bin when many values are missing.
    - Continuous values outside the range seen in ``fit`` (including ``±inf``) fall in the
      first or last bin: they are not unknown, just extreme.

    Parameters
    ----------
    categorical : list of column labels, default=None
        Columns to code by category. ``None``: the columns of ``object``, string,
        ``category`` or ``bool`` dtype not listed in ``continuous``.
    continuous : list of column labels, default=None
        Columns to discretise. ``None``: the numeric columns not listed in ``categorical``.
        When both lists are given, other columns are ignored. A 2-D array (no column names)
        has every numeric column continuous unless told otherwise by position.
    n_bins : int, default=5
        Number of bins of each continuous column (fewer when values are too concentrated:
        see ``field_sizes_``).
    strategy : {"quantile", "uniform", "kmeans"}, default="quantile"
        How bin edges are chosen, as in :class:`~sklearn.preprocessing.KBinsDiscretizer`.

    Attributes
    ----------
    categorical_ : list
        Labels of the categorical columns (fields ``0 .. len(categorical_) - 1``).
    continuous_ : list
        Labels of the continuous columns (the fields after the categorical ones).
    field_sizes_ : list of int
        Number of codes of each field, the reserved code 0 included.
    encoder_ : sklearn.compose.ColumnTransformer
        The fitted ordinal encoder and discretiser (codes ``-1 ..``, before the shift by 1).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names seen in ``fit``; only when they are all strings.

    See Also
    --------
    sklearn.preprocessing.OrdinalEncoder, sklearn.preprocessing.KBinsDiscretizer

    Notes
    -----
    Output fields come in the order ``categorical_ + continuous_``, whatever the order of
    the columns in ``X``. Columns are selected by name at ``transform`` time, so extra
    columns and another column order are accepted (like
    :class:`~sklearn.compose.ColumnTransformer`); a missing column is an error.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn.preprocessing import UserPortraitEncoder
    >>> users = pd.DataFrame({"gender": ["M", "F", "F", "M"], "age": [20, 30, 40, 50]})
    >>> enc = UserPortraitEncoder(n_bins=2).fit(users)
    >>> enc.field_sizes_
    [3, 3]
    >>> enc.transform(pd.DataFrame({"gender": ["F", "X"], "age": [25.0, None]}))
    array([[1, 1],
           [0, 0]])
    """

    _parameter_constraints = {
        "categorical": ["array-like", None],
        "continuous": ["array-like", None],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"quantile", "uniform", "kmeans"})],
    }

    def __init__(self, *, categorical=None, continuous=None, n_bins=5, strategy="quantile"):
        self.categorical = categorical
        self.continuous = continuous
        self.n_bins = n_bins
        self.strategy = strategy

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # -- input handling ------------------------------------------------------------------
    def _to_frame(self, X, *, reset):
        """A DataFrame view of ``X`` (never modified); sets/checks the feature names and count."""
        if isinstance(X, pd.DataFrame):
            if X.shape[0] == 0:
                raise ValueError("X must contain at least one row (user); got an empty DataFrame.")
            if reset:
                _check_feature_names(self, X, reset=True)
                _check_n_features(self, X, reset=True)
            return X
        arr = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
        _check_feature_names(self, arr, reset=reset)
        _check_n_features(self, arr, reset=reset)
        columns = getattr(self, "feature_names_in_", None) if not reset else None
        return pd.DataFrame(arr, columns=columns, copy=False)

    def _resolve_columns(self, frame):
        columns = list(frame.columns)
        given = {}
        for name in ("categorical", "continuous"):
            value = getattr(self, name)
            if value is None:
                continue
            value = list(value)
            missing = [c for c in value if c not in columns]
            if missing:
                raise ValueError(f"{name} columns {missing} are not in X; X has columns {columns}.")
            given[name] = value
        both = set(given.get("categorical", [])) & set(given.get("continuous", []))
        if both:
            raise ValueError(f"columns {sorted(map(str, both))} are listed as both categorical and continuous.")
        taken = set(given.get("categorical", [])) | set(given.get("continuous", []))
        dtypes = frame.dtypes
        cat = given.get("categorical")
        cont = given.get("continuous")
        if cat is None:
            cat = [c for c in columns if c not in taken and _is_categorical_dtype(dtypes[c])]
        if cont is None:
            cont = [c for c in columns if c not in taken and _is_continuous_dtype(dtypes[c])]
        if "categorical" not in given and "continuous" not in given:
            other = [c for c in columns if c not in set(cat) | set(cont)]
            if other:
                raise ValueError(
                    f"cannot tell whether columns {other} (dtypes {[str(dtypes[c]) for c in other]}) are "
                    "categorical or continuous; list them in `categorical` or `continuous`."
                )
        bad = [c for c in cont if not _is_continuous_dtype(dtypes[c])]
        if bad:
            raise TypeError(
                f"continuous columns must be numeric, but {bad} have dtypes "
                f"{[str(dtypes[c]) for c in bad]}; list them in `categorical` instead."
            )
        if not cat and not cont:
            raise ValueError("X has no column to encode; pass a table with at least one column.")
        return cat, cont

    def _fields(self, frame):
        """Used columns of ``frame`` re-labelled by position, continuous ones as finite floats."""
        used = self.categorical_ + self.continuous_
        missing = [c for c in used if c not in frame.columns]
        if missing:
            raise ValueError(
                f"X is missing column(s) {missing} seen in fit; the encoder needs {used}."
            )
        sub = frame[used].set_axis(range(len(used)), axis=1)
        n_cat = len(self.categorical_)
        values = {}
        nan = np.zeros((len(sub), len(self.continuous_)), dtype=bool)
        for j in range(len(self.continuous_)):
            col = sub[n_cat + j].to_numpy(dtype=np.float64, na_value=np.nan)
            nan[:, j] = np.isnan(col)
            values[n_cat + j] = np.clip(col, np.finfo(np.float64).min, np.finfo(np.float64).max)
        if values:
            sub = sub.copy(deep=False)  # a new frame: the caller's X is never modified
            for key, col in values.items():
                sub[key] = col
        return sub, nan

    # -- API -----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the categories and bin edges of every field.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_users, n_columns)
            The user table. A 2-D array has unnamed columns (``x0``, ``x1``, ...).
        y : None
            Ignored.

        Returns
        -------
        self : UserPortraitEncoder
            The fitted encoder.
        """
        frame = self._to_frame(X, reset=True)
        cat, cont = self._resolve_columns(frame)
        for c in cont:
            col = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(col).any():
                raise ValueError(
                    f"continuous column {c!r} holds infinite values; replace them with NaN (missing) "
                    "or finite values before fit."
                )
        self.categorical_, self.continuous_ = list(cat), list(cont)
        self._fit_columns = list(frame.columns)
        n_cat = len(cat)
        binner = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            KBinsDiscretizer(n_bins=self.n_bins, encode="ordinal", strategy=self.strategy, subsample=None),
        )
        ordinal = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1, dtype=np.float64
        )
        self.encoder_ = ColumnTransformer(
            [
                ("categorical", ordinal, list(range(n_cat))),
                ("continuous", binner, list(range(n_cat, n_cat + len(cont)))),
            ],
            remainder="drop",
        ).set_output(transform="default")
        sub, _ = self._fields(frame)
        self.encoder_.fit(sub)
        sizes = []
        if n_cat:
            categories = self.encoder_.named_transformers_["categorical"].categories_
            sizes += [int((~pd.isna(np.asarray(c, dtype=object))).sum()) + 1 for c in categories]
        if cont:
            sizes += [int(n) + 1 for n in self.encoder_.named_transformers_["continuous"][-1].n_bins_]
        self.field_sizes_ = sizes
        self._n_features_out = len(sizes)
        return self

    def transform(self, X):
        """Code every field; 0 means unknown or missing.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_users, n_columns)
            The user table, with every column used in fit (extra columns are ignored).

        Returns
        -------
        codes : ndarray of shape (n_users, n_fields), int64
            Field codes in ``0 .. field_sizes_[j] - 1``, fields ordered as
            ``categorical_ + continuous_``.
        """
        check_is_fitted(self)
        frame = self._to_frame(X, reset=False)
        sub, nan = self._fields(frame)
        codes = self.encoder_.transform(sub).astype(np.int64) + 1
        codes[:, len(self.categorical_):][nan] = 0
        return codes

    def get_feature_names_out(self, input_features=None):
        """Field names, in output order.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Column names of ``X``; must equal ``feature_names_in_`` if that is set.

        Returns
        -------
        names : ndarray of str
            The name of the column behind each field.
        """
        check_is_fitted(self)
        names_in = _check_feature_names_in(self, input_features)
        lookup = dict(zip(self._fit_columns, names_in))
        return np.asarray([lookup[c] for c in self.categorical_ + self.continuous_], dtype=object)
