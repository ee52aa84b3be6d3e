"""Encoded session data and the batch sources the session networks train and predict on.

A session recommender validates and encodes its input once, at the entry of ``fit`` or a
``predict``-like method, into :class:`EncodedSessions` (item codes, the pre-built graphs of a
:class:`~sklearn_ubergnn.graphs.SessionGraphBatch` input, user-field rows). From there only
integer codes travel: the sources below hand batches of them to
:class:`~sklearn_ubergnn._skorch.IndexDataset`, :func:`~sklearn_ubergnn._skorch.fit_net` and
:func:`~sklearn_ubergnn._skorch.iter_outputs`.

- :class:`SessionGraphSource`: flat session-graph batches, built from codes with
  :func:`~sklearn_ubergnn.graphs.build_session_graphs` or sliced from pre-built graphs
  (``SessionGraphBatch.__getitem__``, no rebuild), with optional user-field rows and targets;
- :class:`PaddedSessionSource`: right-padded click sequences for recurrent modules.
"""
from dataclasses import dataclass, replace

import numpy as np
import torch

from .._arrays import pad_segments
from .._skorch import TensorBatch
from .._validation import FlatSessions
from ..graphs import SessionGraphBatch, build_session_graphs

__all__ = ["EncodedSessions", "PaddedSessionSource", "SessionGraphSource", "encode_graph_batch", "known_codes"]


@dataclass(frozen=True)
class EncodedSessions:
    """Sessions encoded with a recommender's vocabulary: what its hooks receive.

    Parameters
    ----------
    codes : FlatSessions
        Item codes of every click (``-1`` = unseen in ``fit``).
    graphs : SessionGraphBatch or None, default=None
        The sessions' graphs in the same codes, when the input was a pre-built batch.
    user_fields : ndarray of shape (n_sessions, n_fields), int64, or None, default=None
        Encoded user-portrait rows.
    """

    codes: FlatSessions
    graphs: SessionGraphBatch = None
    user_fields: np.ndarray = None

    def __len__(self):
        return len(self.codes)

    @property
    def n_known(self):
        """ndarray of shape (n_sessions,): known clicks of each session (0: popularity fallback)."""
        known = np.concatenate([[0], np.cumsum(self.codes.items >= 0)])
        return np.diff(known[self.codes.offsets])


def known_codes(codes, rows=slice(None)):
    """The sessions ``rows`` (a slice) of ``codes`` without their unseen clicks (code ``-1``)."""
    offsets = codes.offsets[rows.start or 0 : (len(codes) if rows.stop is None else rows.stop) + 1]
    items = codes.items[offsets[0] : offsets[-1]]
    known = items >= 0
    if known.all():
        return FlatSessions(items, offsets - offsets[0])
    kept_before = np.concatenate([[0], np.cumsum(known)])
    return FlatSessions(items[known], kept_before[offsets - offsets[0]].astype(np.int64))


def encode_graph_batch(batch, vocabulary):
    """A :class:`SessionGraphBatch` in a recommender's codes: one vectorised remap, no rebuild.

    The batch's item codes index ``batch.classes`` (its transformer's vocabulary); they are
    mapped to ``vocabulary``'s codes by one remap array. The graphs are kept as they are
    unless a node's item is unknown to ``vocabulary`` (the transformer was fitted on other
    data): those clicks are dropped, as for raw sessions, and the graphs are built again from
    the codes when batched.

    Parameters
    ----------
    batch : SessionGraphBatch
        Graphs from :class:`~sklearn_ubergnn.session.SessionGraphTransformer`.
    vocabulary : ItemVocabulary
        The recommender's fitted vocabulary.

    Returns
    -------
    encoded : EncodedSessions
    """
    remap = vocabulary.transform(np.asarray(batch.classes), input_name="X")
    items = remap[batch.items]
    codes = FlatSessions(items[batch.alias], np.asarray(batch.alias_offsets, dtype=np.int64))
    graphs = None
    if not (items < 0).any():  # every node known: keep the graphs (node order is kept: both sorted)
        graphs = replace(batch, items=items, classes=vocabulary.classes_)
    return EncodedSessions(codes, graphs)


def _check_rows(name, array, n):
    if array is not None and len(array) != n:
        what = "entry" if name == "y" else "row"
        raise ValueError(f"{name} must have one {what} per session ({n}); got {len(array)} {what}s.")


class SessionGraphSource:
    """A batch source of session graphs (for :class:`~sklearn_ubergnn._skorch.IndexDataset`).

    ``batch(index)`` gives ``(TensorBatch, y)``: the fields of the selected sessions' flat graph
    batch (:meth:`SessionGraphBatch.to_torch`), plus ``user_fields`` when given.

    Parameters
    ----------
    sessions : FlatSessions or SessionGraphBatch
        Sessions of item **codes** (``-1`` = unseen, dropped from the graph), whose graphs each
        batch builds with :func:`~sklearn_ubergnn.graphs.build_session_graphs`; or pre-built
        graphs in the same codes, sliced per batch (``sessions[index]``, no rebuild).
    classes : ndarray of shape (n_items,)
        The vocabulary (raw ids), stored in the built batches.
    user_fields : ndarray of shape (n_samples, n_fields), int64, default=None
        Encoded user-portrait fields of each sample (0 = unknown value), or None without users.
    y : ndarray of shape (n_samples,), int64, default=None
        Code of each sample's next item; None for inference.
    """

    def __init__(self, sessions, classes, user_fields=None, y=None):
        _check_rows("user_fields", user_fields, len(sessions))
        _check_rows("y", y, len(sessions))
        self.sessions = sessions
        self.classes = classes
        self.user_fields = user_fields
        self.y = y

    @classmethod
    def from_encoded(cls, data, classes, y=None):
        """The source of :class:`EncodedSessions`: its pre-built graphs when it has them."""
        return cls(data.codes if data.graphs is None else data.graphs, classes, data.user_fields, y)

    def __len__(self):
        return len(self.sessions)

    def batch(self, index):
        """The samples ``index`` (int64 array) as ``(TensorBatch, y)`` (``y`` None without targets)."""
        if isinstance(self.sessions, SessionGraphBatch):
            graphs = self.sessions[index]
        else:
            graphs = build_session_graphs(self.sessions.take(index), self.classes)
        fields = graphs.to_torch()
        if self.user_fields is not None:
            fields["user_fields"] = torch.as_tensor(np.ascontiguousarray(self.user_fields[index]))
        y = None if self.y is None else torch.as_tensor(self.y[index])
        return TensorBatch(fields, len(index)), y


class PaddedSessionSource:
    """A batch source of right-padded click sequences, for recurrent modules (``GRU4Rec``).

    ``batch(index)`` gives the fields ``items (B, T) long`` (item codes in click order, padded
    with code 0) and ``lengths (B,) long``, built with whole-array NumPy. Unseen items (code
    ``-1``) are dropped first, so a session may have length 0.

    Parameters
    ----------
    codes : FlatSessions
        Sessions of item **codes** (``-1`` = unseen item, dropped).
    y : ndarray of shape (n_samples,), int64, default=None
        Code of each sample's next item; None for inference.
    """

    def __init__(self, codes, y=None):
        _check_rows("y", y, len(codes))
        self.codes = codes
        self.y = y

    def __len__(self):
        return len(self.codes)

    def batch(self, index):
        """The samples ``index`` (int64 array) as ``(TensorBatch, y)`` (``y`` None without targets)."""
        sessions = known_codes(self.codes.take(index))
        padded, lengths = pad_segments(sessions.items.astype(np.int64, copy=False), sessions.offsets, fill=0)
        fields = {"items": torch.from_numpy(padded), "lengths": torch.from_numpy(lengths)}
        y = None if self.y is None else torch.as_tensor(self.y[index])
        return TensorBatch(fields, len(index)), y
