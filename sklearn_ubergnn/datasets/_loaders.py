"""Loaders for real session, rating and interaction files (pandas based).

Every loader returns plain Python/NumPy/pandas objects that the estimators accept directly:
sessions as a list of lists of item ids in click order (or, with ``as_flat=True``, one
:class:`~sklearn_ubergnn.datasets.FlatSessions`), plus a ``meta`` DataFrame with one row per
session (same order). Malformed input raises a ``ValueError`` naming the file, the line
(1-based, counting the header line) and the column; a missing file raises
``FileNotFoundError`` with its path.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .._arrays import take_segments
from .._flat import FlatSessions
from ._readers import check_chunksize, check_file, read_columns, read_table, to_float, to_int, to_sessions

__all__ = [
    "load_diginetica",
    "load_interactions_csv",
    "load_movielens",
    "load_movielens_ratings",
    "load_session_csv",
]

_DAY = 86400


def _stable_order(*keys):
    """Indices sorting by ``keys[0]``, then ``keys[1]``, ... (a stable lexicographic sort)."""
    order = np.arange(len(keys[0]))
    for key in reversed(keys):
        order = order[np.argsort(key[order], kind="stable")]
    return order


def _group(codes, click_order, session_order):
    """Flat click positions of every session, sessions in ``session_order``.

    Parameters
    ----------
    codes : ndarray of shape (n_clicks,)
        Session code ``0 .. n_sessions - 1`` of each click.
    click_order : ndarray of shape (n_clicks,)
        Click positions sorted by (session code, position within the session).
    session_order : ndarray of shape (n_sessions,)
        Session codes in output order.

    Returns
    -------
    flat : ndarray of shape (n_clicks,)
        Click positions, sessions in output order, clicks in session order.
    offsets : ndarray of shape (n_sessions + 1,)
        Start of each output session in ``flat``.
    """
    lengths = np.bincount(codes, minlength=len(session_order))
    old_offsets = np.concatenate([[0], np.cumsum(lengths)])
    positions, offsets, _ = take_segments(old_offsets, session_order)
    return click_order[positions], offsets


def _first_present(values, offsets):
    """First non-missing value of each session (``values`` in output click order), else missing."""
    missing = np.asarray(pd.isna(values), dtype=bool)
    session = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    present = np.flatnonzero(~missing)
    with_user, first = np.unique(session[present], return_index=True)
    picked = np.zeros(len(offsets) - 1, dtype=np.int64)
    picked[with_user] = present[first]
    out = values[picked] if not isinstance(values, np.ndarray) else values[picked].copy()
    none = np.ones(len(offsets) - 1, dtype=bool)
    none[with_user] = False
    out[none] = pd.NA if not isinstance(values, np.ndarray) else None
    return out


def _sessions(items, offsets, as_flat):
    """The loaders' sessions: a :class:`FlatSessions` or a list of lists."""
    return FlatSessions(items, offsets) if as_flat else to_sessions(items, offsets)


def _require(table, wanted):
    """Raise a ValueError naming line 1 when a required header column is missing."""
    header = list(table.frame.columns)
    for role, column in wanted:
        if column not in header:
            raise ValueError(
                f"{table.path}, line 1: missing required column {column!r} ({role}); "
                f"the header has columns {header}."
            )


def load_session_csv(
    path, *, session_col, item_col, time_col, user_col=None, sep=",", session_time="last", chunksize=None,
    as_flat=False,
):
    """Load click sessions from a delimited file with a header line (one click per line).

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``yoochoose-clicks.dat`` saved with a header.
    session_col, item_col, time_col : str
        Header names of the session id, item id and click time columns.
    user_col : str, default=None
        Header name of the user id column, if any.
    sep : str, default=","
        Field separator.
    session_time : {"last", "first"}, default="last"
        Which click dates a session: its last click (SR-GNN's convention for YOOCHOOSE, so a
        time split keeps whole sessions on one side) or its first.
    chunksize : int, default=None
        Read the file this many lines at a time (e.g. ``100_000``) instead of all at once.
        Each chunk is parsed with pandas, checked, and reduced to flat arrays (ids, times)
        before the next is read, so memory is dominated by the returned sessions rather than
        by the file's text. The result, and the file and line named by any error, are the same
        as without ``chunksize``; sessions may span chunks.
    as_flat : bool, default=False
        Return the sessions as a :class:`~sklearn_ubergnn.datasets.FlatSessions` (item ids plus
        offsets, 8 bytes per click for integer ids) instead of a list of lists (about 60 bytes
        per click): no Python list is built.

    Returns
    -------
    sessions : list of list or FlatSessions
        Item ids of every session. Clicks are ordered by time within a session (ties keep
        file order); sessions are ordered by their session time (ties keep the order in which
        the sessions first appear in the file).
    meta : pandas.DataFrame
        One row per session, same order: ``session_id``, ``time`` (float64 seconds of the
        session's last or first click) and, with ``user_col``, ``user_id`` (the first
        non-missing user of the session's clicks, in click order; missing when none).

    Notes
    -----
    Ids (session, item, user) come back as int64 when every value of the column is an integer
    and as ``str`` otherwise. Times are numbers (kept as they are, e.g. Unix seconds) or ISO
    8601 dates/date-times (converted to Unix seconds; a naive value is read as UTC). Missing
    user ids are empty fields or one of ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``,
    ``NULL``, ``None``; the other columns may not have missing values. Fields may be quoted,
    but a record may not span several lines.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is empty, a column is missing from the header, a line has the wrong
        number of fields, or a value is missing or malformed; the message names the file,
        the line (1-based, the header is line 1) and the column.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_ubergnn.datasets import load_session_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "clicks.csv")
    >>> _ = open(path, "w").write("sid,item,t\\n1,10,5\\n2,30,1\\n1,20,3\\n")
    >>> sessions, meta = load_session_csv(path, session_col="sid", item_col="item", time_col="t")
    >>> sessions
    [[30], [20, 10]]
    >>> meta["session_id"].tolist(), meta["time"].tolist()
    ([2, 1], [1.0, 5.0])
    """
    if session_time not in ("last", "first"):
        raise ValueError(f"session_time must be 'last' or 'first', got {session_time!r}.")
    check_chunksize(chunksize)
    wanted = [("session_col", session_col), ("item_col", item_col), ("time_col", time_col)]
    if user_col is not None:
        wanted.append(("user_col", user_col))
    kinds = {"session_col": "id", "item_col": "id", "time_col": "time", "user_col": "id?"}

    def select(table):
        _require(table, wanted)
        return {role: (column, kinds[role]) for role, column in wanted}

    columns = read_columns(path, select, sep=sep, header=True, what="session file", chunksize=chunksize)
    # pop the flat columns as they are used up, so that big files hold few copies at the end
    codes, uniques = pd.factorize(columns.pop("session_col"))  # codes in order of first appearance
    times = columns.pop("time_col")
    click_order = _stable_order(codes, times)
    lengths = np.bincount(codes)
    ends = np.cumsum(lengths)
    sorted_times = times[click_order]
    del times
    stamp = sorted_times[ends - 1] if session_time == "last" else sorted_times[ends - lengths]
    del sorted_times
    order = np.argsort(stamp, kind="stable")  # ties keep first-appearance order (the codes)
    flat, offsets = _group(codes, click_order, order)
    del codes, click_order
    meta = pd.DataFrame({"session_id": np.asarray(uniques)[order], "time": stamp[order]})
    if user_col is not None:
        meta["user_id"] = _first_present(columns.pop("user_col")[flat], offsets)
    items = columns.pop("item_col")[flat]
    del flat
    return _sessions(items, offsets, as_flat), meta


_DIGINETICA_COLUMNS = {
    "sessionid": "session",
    "userid": "user",
    "itemid": "item",
    "timeframe": "timeframe",
    "eventdate": "eventdate",
}


def _diginetica_dates(table, column):
    """``YYYY-MM-DD`` dates as float64 Unix seconds of UTC midnight (each distinct date parsed once)."""
    dates = table.frame[column].to_numpy(dtype=object)
    unique_dates, date_codes = np.unique(dates.astype(str), return_inverse=True)
    parsed = pd.to_datetime(pd.Series(unique_dates), format="%Y-%m-%d", errors="coerce", utc=True)
    if parsed.isna().any():
        bad = np.isin(date_codes, np.flatnonzero(parsed.isna().to_numpy()))
        row = int(np.flatnonzero(bad)[0])
        raise table.error(row, column, f"expected a date YYYY-MM-DD, found {dates[row]!r}.")
    day_seconds = ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    return day_seconds[date_codes]


def _diginetica_columns(table):
    """``{role: (column, kind)}`` of a Diginetica header (either spelling); ValueError if one is missing."""
    found = {}
    for name in table.frame.columns:
        key = name.lower().replace("_", "")
        if key in _DIGINETICA_COLUMNS and _DIGINETICA_COLUMNS[key] not in found:
            found[_DIGINETICA_COLUMNS[key]] = name
    for role, spellings in (
        ("session", "'sessionId' (or 'session_id')"),
        ("item", "'itemId' (or 'item_id')"),
        ("timeframe", "'timeframe'"),
        ("eventdate", "'eventdate'"),
    ):
        if role not in found:
            raise ValueError(
                f"{table.path}, line 1: missing required column {spellings}; "
                f"the header has columns {list(table.frame.columns)}."
            )
    spec = {"session": (found["session"], "int"), "item": (found["item"], "int")}
    spec["timeframe"] = (found["timeframe"], "int")
    if "user" in found:
        spec["user"] = (found["user"], "int?")
    spec["eventdate"] = (found["eventdate"], _diginetica_dates)
    return spec


def load_diginetica(path, *, chunksize=None, as_flat=False):
    """Load the CIKM Cup 2016 (DIGINETICA) ``train-item-views.csv`` as SR-GNN reads it.

    The file is ``;``-separated with the header ``sessionId;userId;itemId;timeframe;eventdate``
    (or, in SR-GNN's sample, ``session_id;user_id;item_id;timeframe;eventdate``).

    Parameters
    ----------
    path : str or path-like
        The csv file.
    chunksize : int, default=None
        Read the file this many lines at a time instead of all at once (the full
        ``train-item-views.csv`` has 1.2 million lines); each chunk is reduced to flat integer
        arrays before the next is read. Same result and same error messages (file, line,
        column) as without it.
    as_flat : bool, default=False
        Return the sessions as a :class:`~sklearn_ubergnn.datasets.FlatSessions` (item ids plus
        offsets, 8 bytes per click for integer ids) instead of a list of lists (about 60 bytes
        per click): no Python list is built.

    Returns
    -------
    sessions : list of list of int or FlatSessions
        Item ids of every session, **all** sessions kept (also those of length 1, so that a
        later ``preprocessing.srgnn_preprocess`` can apply SR-GNN's filters itself). Clicks are
        ordered by ``timeframe`` within a session (ties keep file order), as SR-GNN's
        ``preprocess.py`` does. Sessions are ordered by their date, ties in the order SR-GNN's
        dictionary has them (the order in which each session's first run of consecutive lines
        ends, i.e. file order when sessions are contiguous).
    meta : pandas.DataFrame
        One row per session, same order: ``session_id`` (int64), ``time`` (float64) and
        ``user_id`` (``Int64``, missing for anonymous sessions: the first non-missing user of
        the session in click order).

    Notes
    -----
    ``time`` is SR-GNN's session date: the ``eventdate`` of the session's last line in file
    order (SR-GNN overwrites the date of a session each time a run of its lines ends). SR-GNN
    converts it with ``time.mktime``, i.e. local midnight; we use **UTC midnight** in Unix
    seconds instead, so results do not depend on the machine's time zone. Differences between
    dates, and hence SR-GNN's "last 7 days are test" split, are the same (barring a daylight
    saving change inside the split week on the original machine).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is empty, a header column is missing, a line has the wrong number of
        fields, or a value is not an integer or a ``YYYY-MM-DD`` date; the message names the
        file, the line and the column.

    Examples
    --------
    >>> from sklearn_ubergnn.datasets import load_diginetica
    >>> sessions, meta = load_diginetica("sample_train-item-views.csv")  # doctest: +SKIP
    >>> len(sessions), sum(len(s) == 1 for s in sessions)  # doctest: +SKIP
    (2986, 933)
    """
    columns = read_columns(
        path, _diginetica_columns, sep=";", header=True, what="Diginetica file", chunksize=chunksize
    )
    session_ids, items, timeframe = columns["session"], columns["item"], columns["timeframe"]
    users, row_time = columns.get("user"), columns["eventdate"]

    codes, uniques = pd.factorize(session_ids)
    n_rows = len(codes)
    # SR-GNN's date of a session: the eventdate of its last line in file order.
    reversed_first = np.unique(codes[::-1], return_index=True)[1]
    session_time = row_time[n_rows - 1 - reversed_first]
    # SR-GNN's dictionary order: where each session's first run of consecutive lines ends.
    run_end = np.flatnonzero(np.concatenate([codes[1:] != codes[:-1], [True]]))
    first_run_end = run_end[np.unique(codes[run_end], return_index=True)[1]]
    session_order = _stable_order(session_time, first_run_end)
    flat, offsets = _group(codes, _stable_order(codes, timeframe), session_order)
    meta = pd.DataFrame(
        {"session_id": np.asarray(uniques)[session_order], "time": session_time[session_order]}
    )
    if users is not None:
        meta["user_id"] = _first_present(users[flat], offsets)
    else:
        meta["user_id"] = pd.array([pd.NA] * len(meta), dtype="Int64")
    return _sessions(items[flat], offsets, as_flat), meta


def _movielens_files(path):
    """(ratings file, users file, kind) of a MovieLens folder, detected by the files present."""
    folder = Path(path)
    if not folder.is_dir():
        detail = " (it is a file; pass the folder holding u.data or ratings.dat)" if folder.exists() else ""
        raise FileNotFoundError(f"MovieLens folder not found: {folder}{detail}")
    if (folder / "u.data").is_file():
        return folder / "u.data", folder / "u.user", "ml-100k"
    if (folder / "ratings.dat").is_file():
        return folder / "ratings.dat", folder / "users.dat", "ml-1m"
    raise FileNotFoundError(
        f"no MovieLens ratings in {folder}: expected u.data (ml-100k) or ratings.dat (ml-1m)."
    )


def _read_ratings(path):
    ratings_file, _, kind = _movielens_files(path)
    sep = "\t" if kind == "ml-100k" else "::"
    table = read_table(
        ratings_file,
        sep=sep,
        header=False,
        names=["user_id", "item_id", "rating", "timestamp"],
        what="MovieLens ratings file",
    )
    return (
        to_int(table, "user_id"),
        to_int(table, "item_id"),
        to_float(table, "rating"),
        to_int(table, "timestamp"),
    )


def load_movielens_ratings(path):
    """Load MovieLens ratings (ml-100k ``u.data`` or ml-1m ``ratings.dat``) as a DataFrame.

    Parameters
    ----------
    path : str or path-like
        The data set folder (``ml-100k/`` or ``ml-1m/``), detected by the files present.

    Returns
    -------
    ratings : pandas.DataFrame
        Columns ``user`` (int64), ``item`` (int64), ``rating`` (float64) and ``time`` (float64
        Unix seconds), sorted by time (stable: ties keep file order), with a RangeIndex.

    Raises
    ------
    FileNotFoundError
        If the folder holds neither ``u.data`` nor ``ratings.dat``.
    ValueError
        If a line is malformed; the message names the file, the line and the column.
    """
    user, item, rating, timestamp = _read_ratings(path)
    order = np.argsort(timestamp, kind="stable")
    return pd.DataFrame(
        {
            "user": user[order],
            "item": item[order],
            "rating": rating[order],
            "time": timestamp[order].astype(np.float64),
        }
    )


def _read_users(users_file, kind):
    check_file(users_file, "MovieLens users file")
    if kind == "ml-100k":
        names, sep = ["user_id", "age", "gender", "occupation", "zip_code"], "|"
    else:
        names, sep = ["user_id", "gender", "age", "occupation", "zip_code"], "::"
    table = read_table(users_file, sep=sep, header=False, names=names, what="MovieLens users file")
    users = pd.DataFrame({"user_id": to_int(table, "user_id"), "age": to_float(table, "age")})
    for column in ("gender", "occupation", "zip_code"):
        users[column] = table.frame[column].str.strip().to_numpy(dtype=object)
    duplicated = users["user_id"].duplicated().to_numpy()
    if duplicated.any():
        raise table.error(
            int(np.flatnonzero(duplicated)[0]),
            "user_id",
            f"user {users['user_id'].iloc[int(np.flatnonzero(duplicated)[0])]} is listed twice.",
        )
    return users.set_index("user_id")


def load_movielens(path):
    """Load MovieLens as day sessions of every user plus the user portrait (UBER-GNN protocol).

    Parameters
    ----------
    path : str or path-like
        The data set folder: ml-100k (``u.data`` tab-separated ``user item rating timestamp``,
        ``u.user`` ``user_id|age|gender|occupation|zip_code``) or ml-1m (``ratings.dat``,
        ``users.dat``, ``::``-separated), detected by the files present.

    Returns
    -------
    sessions : list of list of int
        One session per user and calendar day (UTC): the items the user rated that day, in
        timestamp order (ties by item id). Sessions are ordered by their time (ties by user
        id).
    meta : pandas.DataFrame
        One row per session, same order: ``session_id`` (int64, ``0 .. n_sessions - 1`` in
        this order), ``user_id`` (int64), ``time`` (float64 Unix seconds of the session's
        last rating), and the user portrait: ``age`` (float64; in ml-1m the age-group code
        1, 18, 25, ...), ``gender``, ``occupation`` and ``zip_code`` (category; ml-1m codes
        occupations as numbers, kept as text). Users absent from the users file get missing
        portrait values.

    Raises
    ------
    FileNotFoundError
        If the folder, the ratings file or the users file is missing.
    ValueError
        If a line is malformed or a user is listed twice; the message names the file, the
        line and the column.

    See Also
    --------
    load_movielens_ratings : the ratings as a DataFrame (for the bipartite task).
    """
    _, users_file, kind = _movielens_files(path)
    user, item, _, timestamp = _read_ratings(path)
    portrait = _read_users(users_file, kind)
    day = timestamp // _DAY
    click_order = _stable_order(user, day, timestamp, item)
    key_user, key_day = user[click_order], day[click_order]
    starts = np.flatnonzero(
        np.concatenate([[True], (key_user[1:] != key_user[:-1]) | (key_day[1:] != key_day[:-1])])
    )
    is_start = np.zeros(len(user), dtype=bool)
    is_start[starts] = True
    codes = np.empty(len(user), dtype=np.int64)
    codes[click_order] = np.cumsum(is_start) - 1
    ends = np.concatenate([starts[1:], [len(user)]]) - 1
    session_user = key_user[starts]
    session_time = timestamp[click_order][ends].astype(np.float64)
    session_order = _stable_order(session_time, session_user)
    flat, offsets = _group(codes, click_order, session_order)
    meta = pd.DataFrame(
        {
            "session_id": np.arange(len(session_order), dtype=np.int64),
            "user_id": session_user[session_order],
            "time": session_time[session_order],
        }
    )
    joined = portrait.reindex(meta["user_id"].to_numpy())
    meta["age"] = joined["age"].to_numpy(dtype=np.float64)
    for column in ("gender", "occupation", "zip_code"):
        meta[column] = pd.Categorical(joined[column].to_numpy(dtype=object))
    return to_sessions(item[flat], offsets), meta


_INTERACTION_FORMATS = {
    "collegemsg": (" ", ["source", "target", "time"]),
    "bitcoin": (",", ["source", "target", "rating", "time"]),
}


def load_interactions_csv(path, *, format=None, sep=None, names=None, header=False, chunksize=None):
    """Load a temporal edge list (SNAP style) as a time-sorted DataFrame of interactions.

    Parameters
    ----------
    path : str or path-like
        The file.
    format : {"collegemsg", "bitcoin"} or None, default=None
        A known layout: ``"collegemsg"`` (CollegeMsg: ``SRC DST UNIXTS``, space-separated)
        or ``"bitcoin"`` (Bitcoin-OTC/Alpha: ``SOURCE,TARGET,RATING,TIME``, comma-separated).
        With ``None``, ``sep`` and ``names`` are used; those not given are inferred from the
        first line: ``sep`` is ``","`` if it holds a comma, else a tab if it holds one, else a
        space; ``names`` is the CollegeMsg layout for 3 fields and the Bitcoin one for 4.
    sep : str, default=None
        Field separator; overrides the format's.
    names : list of str, default=None
        Column names; overrides the format's. Must include ``source``, ``target`` and
        ``time``; every other column is read as a number.
    header : bool, default=False
        Whether line 1 is a header line, skipped (``names`` give the columns; SNAP files have
        no header).
    chunksize : int, default=None
        Read the file this many lines at a time (e.g. ``100_000``) instead of all at once;
        each chunk is parsed with pandas, checked and reduced to flat arrays before the next
        is read, so memory is dominated by the returned DataFrame. Same result, and same file,
        line and column in error messages, as without it.

    Returns
    -------
    interactions : pandas.DataFrame
        ``source``, ``target`` (int64, or str when a column holds non-integers), ``time``
        (float64: numbers as they are, or ISO 8601 dates as Unix seconds) and the other
        columns as float64 (e.g. ``rating``), in the order of ``names``. Rows are sorted by
        time with a stable sort (ties keep file order) and re-indexed from 0: unsorted input
        is accepted.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If ``format`` is unknown, the layout cannot be inferred, ``names`` lacks a required
        column, the file is empty, a line has the wrong number of fields, or a value is
        missing or not a number; the message names the file, the line and the column.
    """
    if format is not None and format not in _INTERACTION_FORMATS:
        raise ValueError(f"format must be one of {sorted(_INTERACTION_FORMATS)} or None, got {format!r}.")
    check_chunksize(chunksize)
    path = check_file(path, "interactions file")
    if format is not None:
        sep = _INTERACTION_FORMATS[format][0] if sep is None else sep
        names = _INTERACTION_FORMATS[format][1] if names is None else names
    if sep is None or names is None:
        with open(path, "rb") as f:
            first = next((line for line in f if line.strip()), b"").decode("utf-8", errors="replace").strip()
        if not first:
            raise ValueError(f"{path}: the file is empty; expected lines of source, target and time fields.")
        if sep is None:
            sep = "," if "," in first else "\t" if "\t" in first else " "
        if names is None:
            n_fields = len(first.split(sep))
            layouts = {len(v[1]): v[1] for v in _INTERACTION_FORMATS.values()}
            if n_fields not in layouts:
                raise ValueError(
                    f"{path}, line 1: cannot infer the columns of {n_fields} fields separated by {sep!r}; "
                    "pass names=[...] including 'source', 'target' and 'time', "
                    "or format='collegemsg'/'bitcoin'."
                )
            names = layouts[n_fields]
    names = list(names)
    missing = [c for c in ("source", "target", "time") if c not in names]
    if missing:
        raise ValueError(f"names must include 'source', 'target' and 'time'; {missing} missing from {names}.")
    kinds = {"source": "id", "target": "id", "time": "time"}
    spec = {column: (column, kinds.get(column, "float")) for column in names}
    columns = read_columns(
        path,
        lambda table: spec,
        sep=sep,
        header=header,
        names=names,
        what="interactions file",
        chunksize=chunksize,
    )
    order = np.argsort(columns["time"], kind="stable")
    return pd.DataFrame({column: values[order] for column, values in columns.items()})
