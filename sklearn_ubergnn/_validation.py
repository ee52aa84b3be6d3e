"""Input validation shared by every estimator, loader and metric.

One function per kind of input, used identically in ``fit`` and in ``predict``-like methods,
so that the same bad input gets the same clear message everywhere.

Item ids may be integers (Python or NumPy) or strings, never a mix of both, never missing
(``None``/``NaN``), never floats or booleans. Validated ids come back as a NumPy array of
``int64`` (integer ids) or ``object`` holding ``str`` (string ids).
"""
import math
import warnings
from itertools import chain
from numbers import Integral

import numpy as np
import pandas as pd

from ._arrays import offsets_from_lengths
from ._flat import FlatSessions

__all__ = [
    "FlatSessions",
    "check_ids",
    "check_interactions",
    "check_k",
    "check_same_id_kind",
    "check_sessions",
    "check_validation_split",
    "id_kind",
    "require_columns",
]

# pandas.api.types.infer_dtype labels, grouped by what they mean for ids.
_MISSING_KINDS = {"integer-na", "mixed-integer-float", "floating", "mixed", "empty", "decimal", "unknown-array"}


def id_kind(ids):
    """Return ``"int"`` or ``"str"``: the kind of an already validated id array."""
    return "str" if ids.dtype == object else "int"


def _locate(flat_index, offsets):
    session = int(np.searchsorted(offsets, flat_index, side="right") - 1)
    return session, int(flat_index - offsets[session])


def _ids_to_array(values, where):
    """Validate a flat list of ids; ``where(i)`` describes flat position ``i`` for messages."""
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "integer":
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError as exc:
            raise ValueError(f"item ids must fit in a signed 64-bit integer: {exc}.") from None
    if kind == "string":
        return np.asarray(values, dtype=object)
    obj = np.empty(len(values), dtype=object)
    obj[:] = list(values) if not isinstance(values, np.ndarray) else values
    missing = pd.isna(obj)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"item ids must not be missing; {where(i)} is {obj[i]!r}. "
            "Drop or impute missing ids before passing them."
        )
    is_int = np.fromiter(
        (isinstance(v, (Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in obj),
        dtype=bool,
        count=len(obj),
    )
    is_str = np.fromiter((isinstance(v, str) for v in obj), dtype=bool, count=len(obj))
    bad = ~(is_int | is_str)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TypeError(
            f"item ids must be integers or strings; {where(i)} is {obj[i]!r} of type "
            f"{type(obj[i]).__name__}. Cast ids with astype(int) or astype(str)."
        )
    i_int, i_str = int(np.flatnonzero(is_int)[0]), int(np.flatnonzero(is_str)[0])
    raise TypeError(
        "item ids must all be integers or all be strings, not a mix; "
        f"{where(i_int)} is {obj[i_int]!r} but {where(i_str)} is {obj[i_str]!r}. "
        "Convert every id to one type, e.g. str."
    )


def check_ids(ids, *, input_name="y", n_samples=None):
    """Validate a one-dimensional sequence of item ids.

    Parameters
    ----------
    ids : array-like of shape (n_samples,)
        Item ids (int or str).
    input_name : str, default="y"
        Name used in error messages.
    n_samples : int, default=None
        Expected length, if known (e.g. the number of sessions in ``X``).

    Returns
    -------
    ids : ndarray of shape (n_samples,)
        ``int64`` or ``object`` (str) copy of the ids.
    """
    if isinstance(ids, (str, bytes)) or np.ndim(ids) == 0 and not hasattr(ids, "__len__"):
        raise TypeError(f"{input_name} must be a 1-D sequence of item ids, got {type(ids).__name__}.")
    if isinstance(ids, (pd.Series, pd.Index)):
        values = ids.to_numpy(dtype=object)
    elif isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise ValueError(f"{input_name} must be 1-D, got an array of shape {ids.shape}.")
        values = ids if ids.dtype.kind in "iu" else ids.astype(object)
    else:
        values = list(ids)
    if n_samples is not None and len(values) != n_samples:
        raise ValueError(
            f"X and {input_name} must have the same length; got {n_samples} sessions "
            f"and {len(values)} {input_name} values."
        )
    if len(values) == 0:
        raise ValueError(f"{input_name} must contain at least one id; got an empty sequence.")
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values.astype(np.int64, copy=True)
    for v in values[:1]:
        if isinstance(v, (list, tuple, np.ndarray)):
            raise TypeError(
                f"{input_name} must hold one item id per sample, but {input_name}[0] is a "
                f"{type(v).__name__}."
            )
    return _ids_to_array(values, lambda i: f"{input_name}[{i}]")


def check_sessions(X, y=None, *, input_name="X", allow_empty=False):
    """Validate sessions (and optionally their next items).

    Parameters
    ----------
    X : sequence of sequences of item ids
        One session per element, in click order: a list of lists, a list of arrays, a
        2-D array (one session per row), a pandas Series of lists, or a :class:`FlatSessions`.
    y : array-like of shape (n_sessions,), default=None
        The next item of each session.
    input_name : str, default="X"
        Name used in error messages.
    allow_empty : bool, default=False
        Accept empty sessions (``predict``-like methods: an empty session is ranked as one whose
        items are all unseen). False (``fit``) raises on them.

    Returns
    -------
    sessions : FlatSessions
        Flat copy of the sessions (the input is never modified).
    y : ndarray of shape (n_sessions,)
        Validated targets, only when ``y`` is given.

    Raises
    ------
    TypeError
        If ``X`` is not a sequence of sequences, ids are neither all int nor all str, or
        ``X`` and ``y`` hold ids of different kinds.
    ValueError
        If ``X`` is empty, a session is empty (unless ``allow_empty``), an id is missing, or
        ``X`` and ``y`` differ in length.
    """
    if isinstance(X, FlatSessions):
        sessions = _check_flat(X, input_name, allow_empty)
    else:
        sessions = _flatten_sessions(X, input_name, allow_empty)
    if y is None:
        return sessions
    y = check_ids(y, input_name="y", n_samples=len(sessions))
    check_same_id_kind(sessions.items, y, "X", "y")
    return sessions, y


def _raise_empty(lengths, input_name):
    i = int(np.flatnonzero(lengths == 0)[0])
    raise ValueError(
        f"sessions must contain at least one item; session {i} of {input_name} is empty. "
        "Drop empty sessions before fit."
    )


def _check_flat(X, input_name, allow_empty):
    """Validated copy of a :class:`FlatSessions` (its layout is checked by its constructor)."""
    if len(X) == 0:
        raise ValueError(f"{input_name} must contain at least one session; got an empty FlatSessions.")
    lengths = X.lengths
    if not allow_empty and (lengths == 0).any():
        _raise_empty(lengths, input_name)
    offsets = X.offsets.copy()
    items = X.items
    if len(items) == 0:
        return FlatSessions(np.zeros(0, dtype=np.int64), offsets)
    if items.dtype.kind in "iu":
        if items.dtype == np.uint64 and items.max() > np.iinfo(np.int64).max:
            i = int(np.argmax(items))
            raise ValueError(
                "item ids must fit in a signed 64-bit integer; "
                f"{_describe(i, offsets, input_name)} is {items[i]}."
            )
        return FlatSessions(items.astype(np.int64, copy=True), offsets)
    checked = _ids_to_array(items, lambda i: _describe(i, offsets, input_name))
    return FlatSessions(checked.copy() if checked is items else checked, offsets)


def _flatten_sessions(X, input_name, allow_empty=False):
    if isinstance(X, (str, bytes, dict)) or not hasattr(X, "__len__") or not hasattr(X, "__iter__"):
        raise TypeError(
            f"{input_name} must be a sequence of sessions (e.g. a list of lists of item ids), "
            f"got {type(X).__name__}."
        )
    if isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{input_name} is a DataFrame; this function expects a sequence of sessions. "
            "Pass the column holding the sessions, e.g. df['session'], or group a long click table "
            "(one row per click) with FlatSessions.from_frame(df, session=..., item=..., time=...)."
        )
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype != object:
        if X.shape[0] and not X.shape[1] and allow_empty:
            return FlatSessions(np.zeros(0, dtype=np.int64), np.zeros(X.shape[0] + 1, dtype=np.int64))
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{input_name} must contain at least one non-empty session; got shape {X.shape}.")
        items = X.reshape(-1)
        offsets = np.arange(0, X.size + 1, X.shape[1], dtype=np.int64)
        return FlatSessions(_ids_to_array(list(items) if items.dtype.kind not in "iu" else items.tolist(),
                                          lambda i: _describe(i, offsets, input_name)), offsets)
    hint = ""
    if isinstance(X, pd.Series):
        hint = (" A column of a long click table (one row per click) holds no sessions: group the table "
                "with FlatSessions.from_frame(df, session=..., item=..., time=...) first.")
        X = list(X.to_numpy(dtype=object))
    n = len(X)
    if n == 0:
        raise ValueError(f"{input_name} must contain at least one session; got an empty sequence.")
    for i, s in enumerate(X):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise TypeError(
                f"every session must be a sequence of item ids; {input_name}[{i}] is "
                f"{type(s).__name__} {s!r}. Wrap single items in a list: [item].{hint}"
            )
    lengths = np.fromiter(map(len, X), dtype=np.int64, count=n)
    if not allow_empty and (lengths == 0).any():
        _raise_empty(lengths, input_name)
    offsets = offsets_from_lengths(lengths)
    flat = list(chain.from_iterable(X))
    if not flat:  # allow_empty and every session is empty
        return FlatSessions(np.zeros(0, dtype=np.int64), offsets)
    if isinstance(flat[0], (list, tuple, np.ndarray)):
        raise TypeError(
            f"sessions must hold item ids, but {input_name}[0][0] is a {type(flat[0]).__name__}; "
            "nested sessions are not supported."
        )
    items = _ids_to_array(flat, lambda i: _describe(i, offsets, input_name))
    return FlatSessions(items, offsets)


def _describe(flat_index, offsets, input_name):
    session, position = _locate(flat_index, offsets)
    return f"{input_name}[{session}][{position}]"


def check_same_id_kind(a, b, name_a, name_b):
    """Raise a TypeError when two validated id arrays hold different kinds (int vs str)."""
    if id_kind(a) != id_kind(b):
        raise TypeError(
            f"{name_a} holds {id_kind(a)} item ids but {name_b} holds {id_kind(b)} item ids; "
            "use one id type throughout."
        )


def _user_stacklevel():
    """``stacklevel`` of a warning of the caller: the first frame outside this package and sklearn.

    Decorators (``_fit_context``, thread control) add frames between the user's call and the
    code that warns, so the level is found by walking the stack, as pandas does.
    """
    import inspect
    import os

    import sklearn

    package = os.path.dirname(os.path.abspath(__file__))
    skipped = (package + os.sep, os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep)
    tests = os.path.join(package, "tests") + os.sep
    frame, level = inspect.currentframe(), 0
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(skipped) or name.startswith(tests):
            break
        frame, level = frame.f_back, level + 1
    return max(level, 1)


def check_validation_split(n_samples, validation_fraction, *, chronological=False):
    """The ``validation_fraction`` to use for ``n_samples`` training samples, or None with a warning.

    Estimators with an internal validation split (for early stopping) call this before
    training. When ``n_samples`` is too small to keep at least one sample on each side of the
    split, they train on all samples without validation (and without early stopping): a
    ``UserWarning`` says so, with the number of samples the split needs.

    Parameters
    ----------
    n_samples : int
        Number of training samples (prefixes, or interactions of a stream).
    validation_fraction : float in (0, 1) or None
        The estimator's parameter; None is returned unchanged.
    chronological : bool, default=False
        The split keeps the latest ``round(n * validation_fraction)`` samples (the dynamic-graph
        estimators); False: ``ceil(n * validation_fraction)`` samples at random (skorch's
        ``ValidSplit``).
    Returns
    -------
    validation_fraction : float or None
    """
    if validation_fraction is None:
        return None

    def n_valid(n):
        return round(n * validation_fraction) if chronological else math.ceil(n * validation_fraction)

    def splits(n):
        return 1 <= n_valid(n) < n

    if splits(n_samples):
        return validation_fraction
    needed = max(2, n_samples + 1, int(0.5 / validation_fraction) if chronological else 0)
    while not splits(needed):
        needed += 1
    held_out = n_valid(n_samples)
    left = "no validation sample" if held_out < 1 else "no sample to train on"
    warnings.warn(
        f"validation_fraction={validation_fraction} holds out {held_out} of the {n_samples} training "
        f"samples, which leaves {left}; the validation split needs at least {needed} samples. Training on "
        f"all {n_samples} samples without validation (and without early stopping). Pass more samples, or "
        "validation_fraction=None to silence this warning.",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )
    return None


def check_k(k, *, name="k"):
    """Validate a cut-off ``k`` (a positive integer) and return it as ``int``."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (Integral, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {type(k).__name__} {k!r}.")
    if k <= 0:
        raise ValueError(f"{name} must be a positive integer, got {k}.")
    return int(k)


def _check_times(times, n_rows, *, input_name="times", require_sorted=True):
    """Validate interaction times: finite real numbers (non-decreasing if asked). Returns a float64 copy."""
    if isinstance(times, (str, bytes)) or not hasattr(times, "__len__"):
        raise TypeError(f"{input_name} must be a 1-D sequence of numbers, got {type(times).__name__}.")
    arr = np.asarray(times)
    if arr.ndim != 1:
        raise ValueError(f"{input_name} must be 1-D, got an array of shape {arr.shape}.")
    if len(arr) != n_rows:
        raise ValueError(
            f"sources, targets and {input_name} must have the same length; got {n_rows} sources and "
            f"{len(arr)} {input_name}."
        )
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{input_name} must hold real numbers (e.g. Unix seconds); got values of dtype object "
                "that are not all numbers. Convert dates with .astype('int64') / 1e9 first."
            ) from None
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise TypeError(
            f"{input_name} must hold real numbers (e.g. Unix seconds), got dtype {arr.dtype}. "
            "Convert dates with .astype('int64') / 1e9 first."
        )
    arr = arr.astype(np.float64, copy=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{input_name} must be finite; row {i} has time {float(arr[i])}. Drop or impute it.")
    back = np.flatnonzero(arr[1:] < arr[:-1]) if require_sorted else ()
    if len(back):
        i = int(back[0]) + 1
        raise ValueError(
            f"{input_name} must be non-decreasing (interactions in time order); row {i} has time "
            f"{float(arr[i])} after {float(arr[i - 1])} at row {i - 1}. Sort the interactions by time first "
            "(a stable sort keeps the order of ties)."
        )
    return arr


def _check_interaction_arrays(sources, targets, times, features=None, *, require_sorted=True):
    """Validate one batch of interactions (times non-decreasing unless ``require_sorted=False``).

    Returns
    -------
    sources, targets : ndarray of shape (n,)
        Raw ids, ``int64`` or ``object`` (str), copies.
    times : ndarray of shape (n,), float64
        Finite and non-decreasing.
    features : ndarray of shape (n, F), float32, or None
    """
    sources = check_ids(sources, input_name="sources")
    targets = check_ids(targets, input_name="targets", n_samples=None)
    if len(sources) != len(targets):
        raise ValueError(
            f"sources and targets must have the same length; got {len(sources)} sources and "
            f"{len(targets)} targets."
        )
    if id_kind(sources) != id_kind(targets):
        raise TypeError(
            f"sources hold {id_kind(sources)} ids but targets hold {id_kind(targets)} ids; objects "
            "share one vocabulary, so use one id type for both (e.g. astype(str))."
        )
    times = _check_times(times, len(sources), require_sorted=require_sorted)
    if features is not None:
        features = np.asarray(features)
        if features.ndim == 1:
            features = features[:, None]
        if features.ndim != 2 or features.shape[0] != len(sources):
            raise ValueError(
                f"features must have shape (n_interactions, n_features) = ({len(sources)}, F); got "
                f"shape {features.shape}."
            )
        if features.dtype.kind not in "iuf" or features.dtype == bool:
            raise TypeError(f"features must be numbers, got dtype {features.dtype}.")
        features = features.astype(np.float32, copy=True)
        bad = ~np.isfinite(features)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"features must be finite; row {row}, column {col} is {float(features[row, col])}."
            )
    return sources, targets, times, features


def require_columns(frame, wanted, input_name, hint):
    """Raise a ValueError naming every column of ``wanted`` that ``frame`` lacks, its columns, and ``hint``."""
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"{input_name} is missing the column(s) {missing}; it has {list(frame.columns)}. {hint}")


def check_interactions(X, *, source="source", target="target", time="time", features=None,
                             require_sorted=True, input_name="X"):
    """Validate a table of interactions: the one validator of the dynamic estimators' inputs.

    Called once, at the entry of ``fit``, ``partial_fit`` and the query methods; what comes
    out (raw ids, float64 times, float32 features) is encoded once and never checked again.

    Parameters
    ----------
    X : DataFrame
        One row per interaction.
    source, target, time : str
        Names of the columns holding the two objects and the time.
    features : list of str, default=None
        Names of event-feature columns to return as a float32 matrix.
    require_sorted : bool, default=True
        Whether times must be non-decreasing (the error names the first row out of order).

    Returns
    -------
    sources, targets, times, features
        As :func:`_check_interaction_arrays`; ``features`` is None when not asked for.

    Raises
    ------
    TypeError
        If ``X`` is not a table with named columns.
    ValueError
        If a column is missing (all missing ones and the available ones are named), or any
        check of :func:`_check_interaction_arrays` fails.
    """
    if not hasattr(X, "columns") or isinstance(X, type):
        raise TypeError(
            f"{input_name} must be a pandas DataFrame with columns {source!r}, {target!r} and {time!r}; "
            f"got {type(X).__name__}."
        )
    require_columns(X, [source, target, time, *(features or [])], input_name,
                    "Rename the columns or set the estimator's column-name parameters.")
    feats = None if not features else X[list(features)].to_numpy()
    return _check_interaction_arrays(X[source].to_numpy(), X[target].to_numpy(), X[time].to_numpy(), feats,
                               require_sorted=require_sorted)
