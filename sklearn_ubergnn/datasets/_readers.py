"""Line-aware reading of delimited text files for the loaders.

:func:`read_table` reads every field as text with pandas and remembers the file line of each
row, so that the converters below can name the file, the line (1-based, the header line
counts) and the column of the first bad value. Records are one per line: quoted fields may
hold the separator, but not a line break.
"""

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "Table",
    "check_file",
    "read_table",
    "to_float",
    "to_ids",
    "to_int",
    "to_sessions",
    "to_time",
]

# Text that means "no value" in an optional column (e.g. Diginetica's anonymous user_id "NA").
MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def check_file(path, what):
    """Return ``path`` as a Path; raise ``FileNotFoundError`` naming it when it is not a file."""
    path = Path(path)
    if not path.is_file():
        detail = " (it is a directory)" if path.is_dir() else ""
        raise FileNotFoundError(f"{what} not found: {path}{detail}")
    return path


class Table:
    """Text fields of a delimited file, with the file line of every row.

    Attributes
    ----------
    path : Path
        The file.
    frame : pandas.DataFrame
        One column of ``str`` per field, named after the header (or the given names).
    lines : ndarray of shape (n_rows,), int64
        1-based file line of each row (the header, when there is one, is line 1).
    """

    def __init__(self, path, frame, lines):
        self.path, self.frame, self.lines = path, frame, lines

    def __len__(self):
        return len(self.frame)

    def error(self, row, column, message):
        """ValueError for row ``row`` (position) and ``column``: ``"<file>, line L, column 'c': msg"``."""
        return ValueError(f"{self.path}, line {int(self.lines[row])}, column {column!r}: {message}")


def _line_bounds(buf):
    """Start and end (exclusive, without the newline) of every line of the byte array ``buf``."""
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buf)]])
    if starts[-1] == len(buf):  # the file ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def read_table(path, *, sep, header, names=None, what="file"):
    """Read a delimited file as text fields, checking that every line has the same number of fields.

    Parameters
    ----------
    path : str or path-like
        The file.
    sep : str
        Field separator (a literal string; several characters are allowed, e.g. ``"::"``).
    header : bool
        Whether line 1 holds the column names.
    names : list of str, default=None
        Column names (their number is the number of fields every line must have); required
        when ``header`` is False, and replaces the header's names when given with ``header``.
    what : str, default="file"
        What the file is, for the not-found message.

    Returns
    -------
    table : Table

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is empty (or holds a header only) or a line has another number of fields
        than the header (or ``names``); the message names the file, the line and the missing
        or extra columns.
    """
    path = check_file(path, what)
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte order mark
        raw = raw[3:]
    if not raw.strip():
        expected = "a header line and data lines" if header else f"lines of {len(names)} fields"
        raise ValueError(f"{path}: the file is empty; expected {expected} separated by {sep!r}.")
    shown_sep = sep
    if len(sep) > 1:  # pandas' fast parser takes one character: map the separator to a free byte
        raw = raw.replace(sep.encode(), b"\x1f")
        sep = "\x1f"
    buf = np.frombuffer(raw, dtype=np.uint8)
    starts, ends = _line_bounds(buf)
    content = ends - starts - (buf[np.maximum(ends - 1, 0)] == ord("\r"))
    is_space = np.isin(buf, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    filled = np.add.reduceat(~is_space, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    blank = (content <= 0) | (filled == 0)
    first = int(np.flatnonzero(~blank)[0])
    if header:
        header_text = raw[starts[first] : ends[first]].decode("utf-8", errors="replace").rstrip("\r")
        if names is None:
            names = [name.strip() for name in header_text.split(sep)]
    n_fields = len(names)
    shown_names = [n.replace("\x1f", shown_sep) for n in names]
    if b'"' not in raw:  # count fields per line with whole-array numpy (no quoting to honour)
        sep_pos = np.flatnonzero(buf == ord(sep))
        per_line = np.bincount(np.searchsorted(starts, sep_pos, side="right") - 1, minlength=len(starts)) + 1
        bad = np.flatnonzero(~blank & (per_line != n_fields))
        if len(bad):
            _raise_field_count(path, int(bad[0]) + 1, n_fields, int(per_line[bad[0]]), shown_names, shown_sep)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            header=None,
            names=list(range(n_fields)),
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            index_col=False,
            engine="c",
            encoding_errors="replace",
        )
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        if match is None:
            raise ValueError(f"{path}: cannot parse the file: {exc}") from None
        _raise_field_count(path, int(match[2]), n_fields, int(match[3]), shown_names, shown_sep)
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    if len(frame) == len(starts):  # one row per line, as expected without quoted line breaks
        keep = ~blank
    else:  # quoted line breaks: rows no longer map to lines; drop empty rows only
        keep = (frame != "").any(axis=1).to_numpy()
    if header:
        keep[np.flatnonzero(keep)[0]] = False
    if not keep.any():
        raise ValueError(f"{path}: the file has a header line but no data lines.")
    frame = frame.loc[keep].reset_index(drop=True)
    frame.columns = names
    return Table(path, frame, lines[keep])


def _raise_field_count(path, line, expected, found, names, sep):
    if found < expected:
        detail = "missing column(s) " + ", ".join(repr(n) for n in names[found:])
    else:
        detail = f"{found - expected} extra field(s) after column {names[-1]!r}"
    raise ValueError(
        f"{path}, line {line}: expected {expected} fields separated by {sep!r} "
        f"({', '.join(names)}), found {found}: {detail}."
    )


def _values(table, column):
    return table.frame[column].to_numpy(dtype=object)


def _first_bad(table, column, bad, values, expected):
    row = int(np.flatnonzero(bad)[0])
    value = values[row]
    if value.strip() in MISSING:
        return table.error(row, column, f"missing value {value!r}; expected {expected}.")
    return table.error(row, column, f"expected {expected}, found {value!r}.")


def to_int(table, column, *, allow_missing=False):
    """Integer column: int64 array, or a pandas ``Int64`` array when ``allow_missing``.

    Raises a ValueError naming file, line and column at the first value that is not an
    integer (or is missing when not allowed).
    """
    values = _values(table, column)
    missing = (
        pd.Series(values).str.strip().isin(MISSING).to_numpy()
        if allow_missing
        else np.zeros(len(values), bool)
    )
    number = pd.to_numeric(pd.Series(values[~missing]), errors="coerce").to_numpy()
    if number.dtype.kind == "f":
        ok = np.isfinite(number) & (number == np.round(number))
    else:
        ok = np.ones(len(number), dtype=bool) if number.dtype.kind in "iu" else np.zeros(len(number), bool)
    if not ok.all():
        bad = np.zeros(len(values), dtype=bool)
        bad[np.flatnonzero(~missing)[~ok]] = True
        raise _first_bad(table, column, bad, values, "an integer")
    if not allow_missing:
        return number.astype(np.int64)
    filled = np.zeros(len(values), dtype=np.int64)
    filled[~missing] = number.astype(np.int64)
    return pd.arrays.IntegerArray(filled, missing)


def to_float(table, column):
    """Finite float64 column; ValueError naming file, line and column at the first bad value."""
    values = _values(table, column)
    number = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(number)
    if bad.any():
        raise _first_bad(table, column, bad, values, "a finite number")
    return number


def to_ids(table, column, *, allow_missing=False):
    """Id column: int64 when every value is an integer, else ``object`` holding ``str``.

    Missing values raise (naming file, line and column) unless ``allow_missing``, in which case
    they become ``pd.NA`` (integer ids, ``Int64``) or ``None`` (string ids).
    """
    values = _values(table, column)
    stripped = pd.Series(values).str.strip()
    missing = stripped.isin(MISSING).to_numpy()
    if missing.any() and not allow_missing:
        raise _first_bad(table, column, missing, values, "an id")
    number = pd.to_numeric(stripped[~missing], errors="coerce").to_numpy()
    if len(number) and (
        number.dtype.kind in "iu" or (np.isfinite(number).all() and (number == np.round(number)).all())
    ):
        return to_int(table, column, allow_missing=allow_missing)
    ids = stripped.to_numpy(dtype=object)
    ids[missing] = None
    return ids


def to_time(table, column):
    """Time column as float64 seconds: numbers as they are, or dates/date-times (ISO 8601, UTC).

    The kind is decided by the first value: if it is a number every value must be one;
    otherwise every value must be a date or date-time (a time zone offset is honoured, a
    naive value is read as UTC) and becomes Unix seconds.
    """
    values = _values(table, column)
    number = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(number[0]):
        bad = ~np.isfinite(number)
        if bad.any():
            raise _first_bad(table, column, bad, values, "a number (like the first value)")
        return number
    stamps = pd.to_datetime(pd.Series(values), utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        raise _first_bad(table, column, bad, values, "a number or an ISO 8601 date-time")
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def to_sessions(items, offsets):
    """List of lists of Python ids from a flat id array and CSR offsets."""
    flat = items.tolist()
    bounds = offsets.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
