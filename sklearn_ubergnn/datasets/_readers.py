"""Line-aware reading of delimited text files for the loaders.

:func:`read_table` reads every field as text with pandas and remembers the file line of each
row, so that the converters below can name the file, the line (1-based, the header line
counts) and the column of the first bad value. Records are one per line: quoted fields may
hold the separator, but not a line break. :func:`iter_tables` reads the same tables a given
number of lines at a time (line-aligned blocks, each checked and parsed by pandas), and
:func:`read_columns` converts columns either way, so the loaders stream with ``chunksize=``.
"""

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "Table",
    "check_chunksize",
    "check_file",
    "iter_tables",
    "preview",
    "read_columns",
    "read_table",
    "time_kind",
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
    """Return ``path`` as a Path after checking that it is a text file.

    Raises ``FileNotFoundError`` naming it when it is not a file (e.g. a directory), and a
    ``ValueError`` (see :func:`check_text`) when its start is not text.
    """
    path = Path(path)
    if not path.is_file():
        detail = " (it is a directory)" if path.is_dir() else ""
        raise FileNotFoundError(f"{what} not found: {path}{detail}")
    check_text(path)
    return path


_TEXT_PROBE = 1 << 16  # bytes read at the start of a file to tell text from binary
# Signatures of common non-text files: what the message calls them.
_MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive; extract the file from it first"),
    (b"BZh", "a bzip2-compressed file; decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file; decompress it first (unxz)"),
    (b"\x80\x02", "a Python pickle"),
    (b"\x80\x03", "a Python pickle"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
    (b"PAR1", "a Parquet file; read it with pandas.read_parquet"),
    (b"\xff\xfe", "UTF-16 text; save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text; save it as UTF-8"),
)
# Control bytes that never occur in delimited text (tab, line feed, vertical tab, form feed and
# carriage return do).
_CONTROL = np.setdiff1d(np.arange(32), [9, 10, 11, 12, 13]).astype(np.uint8)


def check_text(path):
    """Raise a ValueError when the start of the file ``path`` is not text (a binary or compressed file).

    The first 64 KiB are read: a NUL byte, or more than 20 % of control bytes and invalid UTF-8
    sequences, mean binary (a few non-UTF-8 bytes, e.g. Latin-1 accents, are accepted). The
    message names the file and the line and column (byte, 1-based) of the first offending byte,
    or what the file looks like (gzip, zip, pickle...); it never shows the bytes themselves.
    """
    with open(path, "rb") as f:
        head = f.read(_TEXT_PROBE)
    expected = "expected a delimited text file (UTF-8), such as a CSV file"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise ValueError(f"{path}: not a text file: it looks like {kind}; {expected}.")
    buf = np.frombuffer(head, dtype=np.uint8)
    bad = np.isin(buf, _CONTROL)
    text = head.decode("utf-8", errors="replace")
    n_invalid = text.count("\ufffd") - head.count("\ufffd".encode())
    if not (buf == 0).any() and bad.sum() + n_invalid <= 0.2 * max(len(text), 1):
        return
    first = min(int(np.flatnonzero(bad)[0]) if bad.any() else len(head), _first_invalid_utf8(head))
    line = head.count(b"\n", 0, first) + 1
    column = first - (head.rfind(b"\n", 0, first) + 1) + 1
    raise ValueError(
        f"{path}, line {line}, column {column}: not a text file (byte 0x{head[first]:02x} there); "
        f"{expected}. Is it compressed or binary?"
    )


def _first_invalid_utf8(head):
    """Offset of the first byte of ``head`` that is not UTF-8 (``len(head)`` when all are)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return len(head)


def preview(value, limit=40):
    """``repr(value)``, cut to ``limit`` characters with ``...``: a field shown in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


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


def check_chunksize(chunksize):
    """Return ``chunksize`` (None or a positive int); raise a ValueError naming it otherwise."""
    if chunksize is None:
        return None
    integer = isinstance(chunksize, (int, np.integer)) and not isinstance(chunksize, (bool, np.bool_))
    if not integer or chunksize < 1:
        raise ValueError(
            f"chunksize must be a positive integer (lines read at a time) or None (the whole file at once), "
            f"got {chunksize!r}."
        )
    return int(chunksize)


class _BlockParser:
    """Parse line-aligned byte blocks of one delimited file into :class:`Table` objects.

    A block holds whole lines (``first_line`` is the file line of its first one). The header
    is taken from the first non-blank line of the file, whichever block holds it; field
    counts are checked per block with whole-array numpy, so line numbers in messages are
    file lines whatever the block size.
    """

    def __init__(self, path, *, sep, header, names):
        self.path, self.header = path, header
        self.shown_sep = sep
        self.sep = sep if len(sep) == 1 else "\x1f"  # pandas' fast parser takes one character
        self.names = None if names is None else list(names)
        self.header_pending = header
        self.seen_line = False  # a non-blank line was seen
        self.n_rows = 0  # data rows returned so far

    def empty_error(self, n_fields):
        expected = "a header line and data lines" if self.header else f"lines of {n_fields} fields"
        return ValueError(
            f"{self.path}: the file is empty; expected {expected} separated by {self.shown_sep!r}."
        )

    def no_data_error(self):
        return ValueError(f"{self.path}: the file has a header line but no data lines.")

    def parse(self, raw, first_line):
        """Table of the data rows of ``raw`` (lines ``first_line, ...``), or None when it has none."""
        if self.sep != self.shown_sep:
            raw = raw.replace(self.shown_sep.encode(), b"\x1f")
        buf = np.frombuffer(raw, dtype=np.uint8)
        starts, ends = _line_bounds(buf)
        content = ends - starts - (buf[np.maximum(ends - 1, 0)] == ord("\r"))
        is_space = np.isin(buf, np.frombuffer(b" \t\r\n", dtype=np.uint8))
        filled = np.logical_or.reduceat(~is_space, starts) if len(starts) else np.zeros(0, dtype=np.int64)
        blank = (content <= 0) | (filled == 0)
        if blank.all():
            return None
        self.seen_line = True
        header_here = self.header_pending
        if header_here:
            first = int(np.flatnonzero(~blank)[0])
            header_text = raw[starts[first] : ends[first]].decode("utf-8", errors="replace").rstrip("\r")
            if self.names is None:
                self.names = [name.strip() for name in header_text.split(self.sep)]
            self.header_pending = False
        names = self.names
        n_fields = len(names)
        shown_names = [n.replace("\x1f", self.shown_sep) for n in names]
        quoted = b'"' in raw
        if not quoted:  # count fields per line with whole-array numpy (no quoting to honour)
            sep_pos = np.flatnonzero(buf == ord(self.sep))
            line_of_sep = np.searchsorted(starts, sep_pos, side="right") - 1
            per_line = np.bincount(line_of_sep, minlength=len(starts)) + 1
            bad = np.flatnonzero(~blank & (per_line != n_fields))
            if len(bad):
                line, found = first_line + int(bad[0]), int(per_line[bad[0]])
                _raise_field_count(self.path, line, n_fields, found, shown_names, self.shown_sep)
        else:  # pandas checks: a guard line of n_fields empty fields first, so that a longer line raises
            raw = (self.sep * (n_fields - 1) + "\n").encode() + raw
        try:
            frame = pd.read_csv(
                io.BytesIO(raw),
                sep=self.sep,
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
                raise ValueError(f"{self.path}: cannot parse the file: {exc}") from None
            line = first_line - 1 - quoted + int(match[2])  # pandas counts from 1, the guard line included
            _raise_field_count(self.path, line, n_fields, int(match[3]), shown_names, self.shown_sep)
        if quoted:
            frame = frame.iloc[1:].reset_index(drop=True)
        lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
        if len(frame) == len(starts):  # one row per line, as expected without quoted line breaks
            keep = ~blank
        else:  # quoted line breaks: rows no longer map to lines; drop empty rows only
            keep = (frame != "").any(axis=1).to_numpy()
        if header_here:
            keep[np.flatnonzero(keep)[0]] = False
        if not keep.any():
            return None
        frame = frame.loc[keep].reset_index(drop=True)
        frame.columns = names
        self.n_rows += len(frame)
        return Table(self.path, frame, lines[keep])


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

    See Also
    --------
    iter_tables : the same, ``chunksize`` lines at a time.
    """
    path = check_file(path, what)
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte order mark
        raw = raw[3:]
    parser = _BlockParser(path, sep=sep, header=header, names=names)
    if not raw.strip():
        raise parser.empty_error(len(names or ()))
    table = parser.parse(raw, 1)
    if table is None:
        raise parser.no_data_error()
    return table


def _line_blocks(path, n_lines, block_size=1 << 22):
    """Yield ``(first_line, bytes)``: the file ``n_lines`` lines at a time (the last block may be shorter).

    Reads ``block_size`` bytes at a time (more when one block of lines is longer), so memory
    holds about one block of lines plus one read, whatever the file size.
    """
    first_line = 1
    carry = b""
    with open(path, "rb") as f:
        while True:
            data = f.read(max(block_size, len(carry)))
            if not data:
                if carry:
                    yield first_line, carry
                return
            buf = carry + data if carry else data
            if first_line == 1 and not carry and buf.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte order mark
                buf = buf[3:]
            newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == ord("\n"))
            pos = 0
            for k in range(n_lines - 1, len(newlines), n_lines):
                end = int(newlines[k]) + 1
                yield first_line, buf[pos:end]
                first_line += n_lines
                pos = end
            carry = buf[pos:]


def iter_tables(path, *, sep, header, names=None, what="file", chunksize):
    """Read a delimited file ``chunksize`` lines at a time, as :func:`read_table` reads it whole.

    Parameters
    ----------
    path, sep, header, names, what
        As in :func:`read_table`.
    chunksize : int
        Number of file lines per block (blank lines and the header count). Each block is
        checked and parsed with pandas on its own; a record may not span two lines.

    Yields
    ------
    table : Table
        The data rows of one block that holds some (blocks of blank lines yield nothing),
        with their file lines, so the converters' messages name the right line.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_table`, when the offending block is reached.
    """
    path = check_file(path, what)
    chunksize = check_chunksize(chunksize)
    parser = _BlockParser(path, sep=sep, header=header, names=names)
    for first_line, raw in _line_blocks(path, chunksize):
        table = parser.parse(raw, first_line)
        if table is not None:
            yield table
    if not parser.seen_line:
        raise parser.empty_error(len(names or ()))
    if parser.n_rows == 0:
        raise parser.no_data_error()


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
    return table.error(row, column, f"expected {expected}, found {preview(value)}.")


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


def to_ids(table, column, *, allow_missing=False, as_text=False):
    """Id column: int64 when every value is an integer, else ``object`` holding ``str``.

    Missing values raise (naming file, line and column) unless ``allow_missing``, in which case
    they become ``pd.NA`` (integer ids, ``Int64``) or ``None`` (string ids). ``as_text=True``
    returns the ``str`` form whatever the values (used when another chunk of the same column
    holds non-integer ids).
    """
    values = _values(table, column)
    stripped = pd.Series(values).str.strip()
    missing = stripped.isin(MISSING).to_numpy()
    if missing.any() and not allow_missing:
        raise _first_bad(table, column, missing, values, "an id")
    if not as_text:
        number = pd.to_numeric(stripped[~missing], errors="coerce").to_numpy()
        if len(number) and (
            number.dtype.kind in "iu" or (np.isfinite(number).all() and (number == np.round(number)).all())
        ):  # what to_int returns, without parsing the column twice
            if not allow_missing:
                return number.astype(np.int64)
            filled = np.zeros(len(values), dtype=np.int64)
            filled[~missing] = number.astype(np.int64)
            return pd.arrays.IntegerArray(filled, missing)
    ids = stripped.to_numpy(dtype=object)
    ids[missing] = None
    return ids


def time_kind(table, column):
    """``"number"`` or ``"date"``: the kind of a time column, decided by its first value."""
    first = pd.to_numeric(pd.Series(_values(table, column)[:1]), errors="coerce").to_numpy(dtype=np.float64)
    return "number" if np.isfinite(first[0]) else "date"


def to_time(table, column, kind=None):
    """Time column as float64 seconds: numbers as they are, or dates/date-times (ISO 8601, UTC).

    The kind is decided by the first value (or given: ``kind`` of :func:`time_kind`, e.g. that
    of the file's first chunk): if it is a number every value must be one; otherwise every
    value must be a date or date-time (a time zone offset is honoured, a naive value is read
    as UTC) and becomes Unix seconds.
    """
    values = _values(table, column)
    number = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    if kind is None:
        kind = "number" if np.isfinite(number[0]) else "date"
    if kind == "number":
        bad = ~np.isfinite(number)
        if bad.any():
            raise _first_bad(table, column, bad, values, "a number (like the first value)")
        return number
    stamps = pd.to_datetime(pd.Series(values), utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        raise _first_bad(table, column, bad, values, "a number or an ISO 8601 date-time")
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def _id_kind(part):
    """``"int"``, ``"text"`` or ``"none"`` (all missing) for one chunk's result of :func:`to_ids`."""
    if isinstance(part, np.ndarray) and part.dtype == object:
        return "text" if any(value is not None for value in part) else "none"
    return "int"


def _concat(parts, kind):
    """One column from its per-chunk arrays, as the converter would return it for the whole file."""
    if len(parts) == 1:
        return parts[0]
    if kind in ("int?", "id?") and any(isinstance(p, pd.arrays.IntegerArray) for p in parts):
        values = [p.to_numpy(dtype=np.int64, na_value=0) if isinstance(p, pd.arrays.IntegerArray)
                  else np.zeros(len(p), dtype=np.int64) for p in parts]
        mask = [np.asarray(p.isna()) if isinstance(p, pd.arrays.IntegerArray)
                else np.ones(len(p), dtype=bool) for p in parts]
        return pd.arrays.IntegerArray(np.concatenate(values), np.concatenate(mask))
    return np.concatenate(parts)


def read_columns(path, select, *, sep, header, names=None, what="file", chunksize=None):
    """Read and convert some columns of a delimited file, whole or ``chunksize`` lines at a time.

    Parameters
    ----------
    path, sep, header, names, what
        As in :func:`read_table`.
    select : callable
        ``select(table) -> {key: (column, kind)}``, called with the first :class:`Table` (so it
        can check the header and raise). ``kind`` is ``"id"``/``"id?"`` (:func:`to_ids`,
        ``?``: missing values allowed), ``"int"``/``"int?"`` (:func:`to_int`), ``"float"``,
        ``"time"`` (:func:`to_time`), or a callable ``f(table, column) -> ndarray``. Columns
        are converted in this order, chunk after chunk.
    chunksize : int or None, default=None
        None reads the file at once (:func:`read_table`); an int reads it that many lines at a
        time (:func:`iter_tables`) and keeps only the converted flat arrays of each chunk.

    Returns
    -------
    columns : dict
        ``key -> array`` over all rows of the file, equal to what the converters return for the
        whole file: the time kind is that of the file's first value, and an id column is
        ``str`` in every chunk as soon as one chunk holds a non-integer id (those columns are
        then read a second time, as text, which costs a second pass over the file in that
        rare case only).
    """
    chunksize = check_chunksize(chunksize)

    def tables():
        if chunksize is None:
            yield read_table(path, sep=sep, header=header, names=names, what=what)
        else:
            yield from iter_tables(path, sep=sep, header=header, names=names, what=what, chunksize=chunksize)

    spec, parts, time_kinds = None, None, {}
    for table in tables():
        if spec is None:
            spec = select(table)
            parts = {key: [] for key in spec}
        for key, (column, kind) in spec.items():
            if kind in ("id", "id?"):
                part = to_ids(table, column, allow_missing=kind == "id?")
            elif kind in ("int", "int?"):
                part = to_int(table, column, allow_missing=kind == "int?")
            elif kind == "float":
                part = to_float(table, column)
            elif kind == "time":
                if key not in time_kinds:  # the file's first value decides, as in one pass
                    time_kinds[key] = time_kind(table, column)
                part = to_time(table, column, time_kinds[key])
            else:
                part = kind(table, column)
            parts[key].append(part)
    as_text = [
        key for key, (_, kind) in spec.items()
        if kind in ("id", "id?") and len({_id_kind(p) for p in parts[key]} - {"none"}) > 1
    ]
    if as_text:  # integer ids in some chunks, other ids in others: all become text, as in one pass
        for key in as_text:
            parts[key] = []
        for table in tables():
            for key in as_text:
                column, kind = spec[key]
                parts[key].append(to_ids(table, column, allow_missing=kind == "id?", as_text=True))
    return {key: _concat(parts[key], kind) for key, (_, kind) in spec.items()}


def to_sessions(items, offsets):
    """List of lists of Python ids from a flat id array and CSR offsets."""
    flat = items.tolist()
    bounds = offsets.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
