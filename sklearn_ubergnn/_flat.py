"""Sessions as one flat item array plus offsets (CSR layout): :class:`FlatSessions`.

The layout every session estimator works on internally, and the one to pass them when the data
are too large for Python lists: a list of lists costs about 60 bytes per click, a
``FlatSessions`` 8 (``int64`` ids). :meth:`FlatSessions.from_frame` builds it from a long click
table (one row per click) with whole-array pandas/NumPy operations.
"""
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from ._arrays import offsets_from_lengths, take_segments

__all__ = ["FlatSessions"]


def _check_structure(items, offsets):
    """``(items, offsets)`` as 1-D arrays (offsets int64) after checking the CSR layout."""
    items = np.asarray(items)
    offsets = np.asarray(offsets)
    if items.ndim != 1:
        raise ValueError(f"FlatSessions items must be 1-D; got an array of shape {items.shape}.")
    if offsets.ndim != 1 or len(offsets) == 0:
        raise ValueError(
            f"FlatSessions offsets must be 1-D with n_sessions + 1 >= 1 entries; got shape {offsets.shape}."
        )
    if offsets.dtype.kind not in "iu":
        raise TypeError(f"FlatSessions offsets must be integers; got dtype {offsets.dtype}.")
    offsets = offsets.astype(np.int64, copy=False)
    if offsets[0] != 0 or offsets[-1] != len(items):
        raise ValueError(
            f"FlatSessions offsets must start at 0 and end at len(items) = {len(items)}; got offsets[0] = "
            f"{int(offsets[0])} and offsets[-1] = {int(offsets[-1])}."
        )
    back = np.flatnonzero(offsets[1:] < offsets[:-1])
    if len(back):
        i = int(back[0])
        raise ValueError(
            f"FlatSessions offsets must be non-decreasing; offsets[{i + 1}] = {int(offsets[i + 1])} is less "
            f"than offsets[{i}] = {int(offsets[i])}."
        )
    return items, offsets


@dataclass(frozen=True, eq=False, repr=False)
class FlatSessions:
    """Sessions as one flat array of item ids plus offsets (CSR layout).

    Session ``i`` is ``items[offsets[i]:offsets[i + 1]]``, in click order. Every session
    recommender and :class:`~sklearn_ubergnn.session.SessionGraphTransformer` accepts a
    ``FlatSessions`` wherever it accepts a list of lists, with the same results, and never
    builds Python lists from it. Build one from a long click table with :meth:`from_frame`,
    from a loader with ``as_flat=True``, or expand it into next-item samples with
    :func:`~sklearn_ubergnn.preprocessing.session_prefixes` (``as_flat=True``).

    The constructor checks the layout (1-D arrays, offsets from 0 to ``len(items)``,
    non-decreasing) and keeps the arrays as given, without copying; the estimators validate
    the ids (all integers or all strings, none missing) and work on copies. It indexes like a
    list of sessions (``sessions[i]`` is one session's items; a slice, an int array or a mask
    gives a ``FlatSessions``), so scikit-learn's cross-validation splits it.

    Parameters
    ----------
    items : array-like of shape (n_clicks,)
        Item ids of all sessions concatenated: integers, or strings (``object`` dtype).
    offsets : array-like of shape (n_sessions + 1,), int
        Start of each session in ``items``; ``offsets[0] == 0``, ``offsets[-1] == n_clicks``.

    Attributes
    ----------
    items : ndarray of shape (n_clicks,)
        The item ids.
    offsets : ndarray of shape (n_sessions + 1,), int64
        The session boundaries.

    Raises
    ------
    ValueError
        If an array is not 1-D, or the offsets do not run from 0 to ``len(items)`` without
        decreasing (the message names the first offending offset).
    TypeError
        If the offsets are not integers.

    See Also
    --------
    sklearn_ubergnn.preprocessing.session_prefixes : Next-item samples of sessions.
    sklearn_ubergnn.utils.check_sessions : Validate sessions of any accepted kind into this layout.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ubergnn.datasets import FlatSessions
    >>> sessions = FlatSessions(np.array([1, 2, 3, 4, 5]), np.array([0, 3, 5]))
    >>> sessions
    FlatSessions(n_sessions=2, n_clicks=5)
    >>> sessions.lengths, sessions.to_list()
    (array([3, 2]), [[1, 2, 3], [4, 5]])
    """

    items: np.ndarray
    offsets: np.ndarray

    def __post_init__(self):
        items, offsets = _check_structure(self.items, self.offsets)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "offsets", offsets)

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, key):
        """Index like a list of sessions: an int gives that session's items, the rest a ``FlatSessions``.

        ``key`` may be an int (negative counts from the end; the result is a view of ``items``), a
        slice, an array of ints or a boolean mask of length ``n_sessions``. scikit-learn's
        cross-validation indexes ``X`` this way.
        """
        n = len(self)
        if isinstance(key, (Integral, np.integer)) and not isinstance(key, (bool, np.bool_)):
            if not -n <= key < n:
                raise IndexError(f"session index {key} is out of range for {n} sessions.")
            i = int(key) % n
            return self.items[self.offsets[i] : self.offsets[i + 1]]
        if isinstance(key, slice):
            return self.take(np.arange(n)[key])
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (n,):
                raise IndexError(f"a boolean mask of FlatSessions must have shape ({n},); got {key.shape}.")
            return self.take(np.flatnonzero(key))
        if key.ndim != 1 or (key.dtype.kind not in "iu" and len(key)):
            raise IndexError(
                f"FlatSessions are indexed by an int, a slice, a 1-D int array or a boolean mask; got an array of "
                f"dtype {key.dtype} and shape {key.shape}."
            )
        key = key.astype(np.int64)
        bad = (key < -n) | (key >= n)
        if bad.any():
            raise IndexError(f"session index {int(key[bad][0])} is out of range for {n} sessions.")
        return self.take(np.where(key < 0, key + n, key))

    def __repr__(self):
        return f"FlatSessions(n_sessions={len(self)}, n_clicks={len(self.items)})"

    @property
    def lengths(self):
        """ndarray of shape (n_sessions,): number of clicks of each session."""
        return np.diff(self.offsets)

    @property
    def session_index(self):
        """ndarray of shape (n_clicks,): the session of each click."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    @property
    def last_items(self):
        """ndarray of shape (n_sessions,): the last item of every session (sessions must be non-empty)."""
        return self.items[self.offsets[1:] - 1]

    def take(self, index):
        """The sessions at positions ``index`` (any order, repeats allowed) as a new ``FlatSessions``."""
        positions, offsets, _ = take_segments(self.offsets, index)
        return FlatSessions(self.items[positions], offsets)

    def to_list(self):
        """Sessions as a list of Python lists of ids."""
        if len(self) == 0:
            return []
        return [chunk.tolist() for chunk in np.split(self.items, self.offsets[1:-1])]

    @classmethod
    def from_frame(cls, frame, *, session="session", item="item", time=None, return_session_ids=False):
        """Sessions of a long click table: one row per click, grouped by session.

        Sessions come out sorted by session id; the clicks of a session are sorted by
        ``time`` (a stable sort: ties keep row order), or kept in row order without ``time``.
        Whole-array operations only (``pandas.factorize``, ``numpy.lexsort``): no Python
        list is built, whatever the size of the table. Other columns (e.g. a user column) are
        ignored.

        Parameters
        ----------
        frame : pandas.DataFrame
            The click table. Convert an Arrow or polars table with its ``to_pandas()`` first.
        session, item : str, default="session", "item"
            Names of the session id and item id columns. Ids are integers or strings; item ids
            may not be missing, session ids neither.
        time : str, default=None
            Name of the click time column (numbers or datetimes, none missing), or None to keep
            the row order within each session.
        return_session_ids : bool, default=False
            Also return the id of each session.

        Returns
        -------
        sessions : FlatSessions
            The sessions, with ``int64`` (integer ids) or ``object`` (string ids) items.
        session_ids : ndarray of shape (n_sessions,)
            The sorted session ids; only when ``return_session_ids=True``.

        Raises
        ------
        TypeError
            If ``frame`` is not a DataFrame, item ids are neither all integers nor all strings, or
            the time column holds neither numbers nor datetimes.
        ValueError
            If a column is missing (the message lists the frame's columns), the table is empty, or
            a session id, item id or time is missing (the message names the column and row).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_ubergnn.datasets import FlatSessions
        >>> clicks = pd.DataFrame({"session": [7, 3, 7, 3], "item": [10, 20, 30, 40], "time": [2, 5, 1, 6]})
        >>> sessions, ids = FlatSessions.from_frame(clicks, time="time", return_session_ids=True)
        >>> sessions.to_list(), ids
        ([[20, 40], [30, 10]], array([3, 7]))
        """
        from ._validation import check_ids, require_columns  # _validation builds on this module

        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"frame must be a pandas DataFrame with one row per click; got {type(frame).__name__}. "
                "Convert an Arrow or polars table with its to_pandas() first."
            )
        require_columns(frame, [session, item] + ([] if time is None else [time]), "frame",
                        "Name the columns with session=, item= and time=.")
        if len(frame) == 0:
            raise ValueError("frame must contain at least one click; got an empty table.")
        codes, session_ids = pd.factorize(frame[session], sort=True)
        _raise_missing(codes < 0, frame[session], session)
        values = frame[item].to_numpy()
        items = check_ids(values if values.dtype.kind in "iuO" else values.astype(object),
                          input_name=f"frame[{item!r}]")
        if time is None:
            order = np.argsort(codes, kind="stable")
        else:
            order = np.lexsort((_sort_key(frame[time], time), codes))  # lexsort is stable
        offsets = offsets_from_lengths(np.bincount(codes, minlength=len(session_ids)))
        sessions = cls(items[order], offsets)
        return (sessions, np.asarray(session_ids)) if return_session_ids else sessions


def _raise_missing(bad, column, name):
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"column {name!r} must not have missing values; row {row} is {column.iloc[row]}. "
            "Drop or impute those rows first."
        )


def _sort_key(column, name):
    """A NumPy array of a time column that sorts like the times; missing values raise."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    values = column.to_numpy()
    if values.dtype.kind == "M":
        _raise_missing(np.isnat(values), column, name)
        return values.view(np.int64)
    if values.dtype.kind in "iuf":
        _raise_missing(np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool), column, name)
        return values
    raise TypeError(
        f"column {name!r} must hold numbers or datetimes to order the clicks; got dtype {column.dtype}. "
        "Convert it with pd.to_datetime(...) first."
    )
