"""Loader for the preprocessed pickles that SR-GNN's ``preprocess.py`` writes.

The files are pickles, and unpickling runs code named inside the file. They are read with an
unpickler that refuses every global and every persistent id, so only plain containers and
numbers can come out, and the result is then checked to have exactly the expected structure.
"""

import pickle
import reprlib
from itertools import chain
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._arrays import offsets_from_lengths
from .._flat import FlatSessions

__all__ = ["load_srgnn"]


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds plain containers and scalars only: no global, no persistent id."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            f"refused to load the global {module}.{name}: SR-GNN files hold only lists, tuples and ints"
        )

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused a persistent id: SR-GNN files hold only lists, tuples and ints")


def _unpickle(path):
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f).load()
    except (RecursionError, MemoryError) as exc:
        raise ValueError(
            f"{path}: not a valid SR-GNN pickle: it is nested too deeply or too large to load "
            f"({type(exc).__name__})."
        ) from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        UnicodeDecodeError,
    ) as exc:
        raise ValueError(f"{path}: not a valid SR-GNN pickle: {_short(str(exc))}") from None


# Bounded previews: never the whole object (a file may hold millions of items or nest deeply).
_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxstring, _PREVIEW.maxother, _PREVIEW.maxlong = 2, 30, 30, 30
_PREVIEW.maxlist = _PREVIEW.maxtuple = _PREVIEW.maxdict = _PREVIEW.maxset = 4


def _short(text, limit=200):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value):
    """``"<type> <preview>"``: at most 40 characters of a bounded repr, never the whole object."""
    try:
        text = _PREVIEW.repr(value)
    except (RecursionError, MemoryError):  # pragma: no cover - reprlib stops at maxlevel
        text = "..."
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _check_int(value, path, where):
    if type(value) is not int:  # exact: excludes bool, float, str ...
        raise ValueError(f"{path}: expected an int item id at {where}, found {_describe(value)}.")


def _check_session_list(obj, path, name):
    """Check ``obj`` is a list of non-empty lists of ints; ``name`` names it in messages."""
    if type(obj) is not list:
        raise ValueError(f"{path}: expected {name} to be a list of sessions, found {_describe(obj)}.")
    for i, session in enumerate(obj):
        if type(session) is not list:
            raise ValueError(
                f"{path}: expected {name}[{i}] to be a list of int item ids, found {_describe(session)}."
            )
        if not session:
            raise ValueError(
                f"{path}: {name}[{i}] is an empty session; SR-GNN sessions hold at least one item."
            )
        for j, item in enumerate(session):
            if type(item) is not int:
                _check_int(item, path, f"{name}[{i}][{j}]")
    return obj


def _check_examples(obj, path):
    """Check ``obj`` is a 2-tuple/list ``(sessions, targets)`` of equal lengths."""
    if type(obj) not in (tuple, list) or len(obj) != 2:
        shape = (
            f"a {type(obj).__name__} of length {len(obj)}" if type(obj) in (tuple, list) else _describe(obj)
        )
        raise ValueError(f"{path}: expected a pair (prefixes, targets), found {shape}.")
    sessions, targets = obj
    _check_session_list(sessions, path, "prefixes")
    if type(targets) is not list:
        raise ValueError(
            f"{path}: expected targets to be a list of int item ids, found {_describe(targets)}."
        )
    for i, item in enumerate(targets):
        if type(item) is not int:
            _check_int(item, path, f"targets[{i}]")
    if len(sessions) != len(targets):
        raise ValueError(
            f"{path}: prefixes and targets must have the same length, found {len(sessions)} prefixes "
            f"and {len(targets)} targets."
        )
    return list(sessions), list(targets)


def _checked(check, path, *args):
    """Unpickle ``path`` and check its structure; a too deep or too large content is a ValueError."""
    obj = _unpickle(path)
    try:
        return check(obj, path, *args)
    except (RecursionError, MemoryError) as exc:
        raise ValueError(
            f"{path}: not a valid SR-GNN file: its content is nested too deeply or too large to check "
            f"({type(exc).__name__}); found {_describe(obj)}."
        ) from None


def _to_flat(sessions):
    """A checked list of lists of ints as a :class:`FlatSessions` of int64 ids."""
    lengths = np.fromiter(map(len, sessions), dtype=np.int64, count=len(sessions))
    offsets = offsets_from_lengths(lengths)
    items = np.fromiter(chain.from_iterable(sessions), dtype=np.int64, count=int(offsets[-1]))
    return FlatSessions(items, offsets)


def load_srgnn(folder, *, as_flat=False):
    """Load SR-GNN's preprocessed data set (``all_train_seq.txt``, ``test.txt``, ``train.txt``).

    SR-GNN's ``preprocess.py`` pickles, for a data set folder such as ``yoochoose1_64/`` or
    ``sample/``: ``all_train_seq.txt`` (the training sessions), ``train.txt`` (every prefix of
    every training session and its next item) and ``test.txt`` (the same for the test
    sessions). The files are unpickled with an unpickler that refuses every global and
    persistent id, so a tampered file cannot run code; the content must then be exactly
    plain lists of ints.

    Parameters
    ----------
    folder : str or path-like
        Folder holding ``all_train_seq.txt`` and ``test.txt``, and optionally ``train.txt``.
    as_flat : bool, default=False
        Return the sessions and prefixes as :class:`~sklearn_ubergnn.datasets.FlatSessions`
        and the targets as ``int64`` arrays. Each file's lists are converted as soon as it is
        read and then released, so no list outlives the call (the pickles themselves hold
        lists, so they exist while one file is being converted).

    Returns
    -------
    data : sklearn.utils.Bunch
        With keys

        train_sessions : list of list of int or FlatSessions
            The training sessions, in SR-GNN's order (by session date).
        test_X : list of list of int or FlatSessions
            Test prefixes.
        test_y : list of int or ndarray of shape (n_test,)
            Next item of each test prefix.
        train_X : list of list of int, FlatSessions or None
            Training prefixes from ``train.txt``; ``None`` when the file is absent (rebuild
            them from ``train_sessions`` with ``preprocessing.session_prefixes``).
        train_y : list of int, ndarray or None
            Next item of each training prefix; ``None`` when ``train.txt`` is absent.

    Raises
    ------
    FileNotFoundError
        If the folder, ``all_train_seq.txt`` or ``test.txt`` is missing.
    ValueError
        If a file is not a pickle, refers to any global or persistent id, or does not hold
        the expected structure: ``all_train_seq.txt`` a list of non-empty lists of ints;
        ``test.txt`` and ``train.txt`` a pair ``(list of non-empty lists of ints, list of
        ints)`` of equal lengths; also if a file is nested too deeply or is too large to
        load (``RecursionError``/``MemoryError`` while loading or checking). The message names
        the file and what was found where, with a short preview of the value, never the whole
        content.

    Examples
    --------
    >>> from sklearn_ubergnn.datasets import load_srgnn
    >>> data = load_srgnn("shared/data/yoochoose1_64")  # doctest: +SKIP
    >>> len(data.train_sessions), len(data.test_y)  # doctest: +SKIP
    (116167, 55898)
    """
    folder = Path(folder)
    if not folder.is_dir():
        detail = ""
        if folder.exists():
            detail = " (it is a file; pass the folder holding all_train_seq.txt and test.txt)"
        raise FileNotFoundError(f"SR-GNN data folder not found: {folder}{detail}")
    paths = {name: folder / f"{name}.txt" for name in ("all_train_seq", "test", "train")}
    for name in ("all_train_seq", "test"):
        if not paths[name].is_file():
            raise FileNotFoundError(
                f"SR-GNN file not found: {paths[name]} (expected all_train_seq.txt and test.txt in {folder})"
            )
    def sessions(name):
        checked = _checked(_check_session_list, paths[name], "sessions")
        return _to_flat(checked) if as_flat else checked

    def examples(name):
        X, y = _checked(_check_examples, paths[name])
        return (_to_flat(X), np.asarray(y, dtype=np.int64)) if as_flat else (X, y)

    train_sessions = sessions("all_train_seq")
    test_X, test_y = examples("test")
    train_X = train_y = None
    if paths["train"].is_file():
        train_X, train_y = examples("train")
    return Bunch(
        train_sessions=train_sessions, test_X=test_X, test_y=test_y, train_X=train_X, train_y=train_y
    )
