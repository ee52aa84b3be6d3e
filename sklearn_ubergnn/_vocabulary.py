"""Mapping between raw ids and contiguous integer codes: sorted (fitted) or growing (streams)."""
import numpy as np

from ._validation import id_kind

__all__ = ["GrowingVocabulary", "ItemVocabulary"]


class ItemVocabulary:
    """Sorted vocabulary of raw ids with vectorised encoding.

    Codes are positions in ``classes_`` (``np.unique`` order), so ``classes_[code]`` maps back to
    the raw id. Unseen ids encode to ``-1``; callers decide what an unseen id means.

    Parameters
    ----------
    classes : ndarray, default=None
        Known ids; when given, the vocabulary is ready without :meth:`fit`.
    """

    def __init__(self, classes=None):
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def fit(self, *id_arrays):
        """Learn the sorted distinct ids of validated id arrays (all of one kind)."""
        # distinct ids of each array first: no concatenated copy of all the ids
        self.classes_ = np.unique(np.concatenate([np.unique(ids) for ids in id_arrays]))
        return self

    def __len__(self):
        return len(self.classes_)

    @property
    def kind(self):
        """``"int"`` or ``"str"``: the kind of id the vocabulary holds."""
        return id_kind(self.classes_)

    def transform(self, ids, *, input_name="X"):
        """Encode validated ids to codes in ``[0, len(self))``; unseen ids become ``-1``.

        Raises
        ------
        TypeError
            If ``ids`` are of another kind (int vs str) than the ids seen in fit.
        """
        ids = np.asarray(ids)
        if len(ids) and id_kind(ids) != self.kind:
            raise TypeError(
                f"the model was fitted on {self.kind} item ids but {input_name} holds "
                f"{id_kind(ids)} ids; use the id type seen in fit."
            )
        codes = np.searchsorted(self.classes_, ids).astype(np.int64, copy=False)
        np.minimum(codes, len(self.classes_) - 1, out=codes)  # in place: one (n,) array besides ids
        codes[self.classes_[codes] != ids] = -1
        return codes

    def inverse_transform(self, codes):
        """Raw ids of codes (``-1`` is not allowed here)."""
        return self.classes_[np.asarray(codes)]


class GrowingVocabulary:
    """Vocabulary of a stream: raw ids get codes ``0, 1, ...`` in order of first appearance.

    Unlike :class:`ItemVocabulary` it grows: :meth:`add` gives unseen ids the next codes, so the
    codes of earlier ids never change (a stream's history keeps its meaning). Look-ups are
    ``searchsorted`` in a sorted copy of the ids; a batch of new ids costs one ``O(V)`` insert.

    Attributes
    ----------
    ids : ndarray of shape (n_ids,)
        Raw id of every code (order of first appearance).
    kind : {"int", "str"} or None
        The kind of id held (None while empty).
    """

    def __init__(self):
        self._sorted_ids = None  # raw ids, sorted; None while empty
        self._sorted_codes = np.empty(0, dtype=np.int64)
        self._ids = None  # raw id of every code, with spare capacity
        self._n = 0

    def __len__(self):
        return self._n

    @property
    def kind(self):
        return None if self._ids is None else id_kind(self._ids)

    @property
    def ids(self):
        return np.empty(0, dtype=np.int64) if self._ids is None else self._ids[: self._n].copy()

    def transform(self, ids, *, input_name="X"):
        """Codes of validated ids; unseen ids become ``-1``.

        Raises
        ------
        TypeError
            If ``ids`` are of another kind (int vs str) than the ids already held.
        """
        ids = np.asarray(ids)
        if not self._n or not len(ids):
            return np.full(len(ids), -1, dtype=np.int64)
        if id_kind(ids) != self.kind:
            raise TypeError(
                f"the model holds {self.kind} object ids but {input_name} holds {id_kind(ids)} ids; "
                "use one id type throughout."
            )
        pos = np.minimum(np.searchsorted(self._sorted_ids, ids), self._n - 1)
        return np.where(self._sorted_ids[pos] == ids, self._sorted_codes[pos], -1).astype(np.int64)

    def add(self, ids, *, input_name="X"):
        """Codes of validated ids, giving unseen ones the next codes (by order of first appearance)."""
        ids = np.asarray(ids)
        if self._ids is None and len(ids):
            self._sorted_ids = np.empty(0, dtype=ids.dtype)
            self._ids = np.empty(0, dtype=ids.dtype)
        codes = self.transform(ids, input_name=input_name)
        unseen = codes < 0
        if not unseen.any():
            return codes
        new_ids, first = np.unique(ids[unseen], return_index=True)
        rank = np.empty(len(new_ids), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(new_ids))
        new_codes = self._n + rank
        at = np.searchsorted(self._sorted_ids, new_ids)
        self._sorted_ids = np.insert(self._sorted_ids, at, new_ids)
        self._sorted_codes = np.insert(self._sorted_codes, at, new_codes)
        end = self._n + len(new_ids)
        if end > len(self._ids):  # capacity doubling: amortised O(new) per add
            grown = np.empty(max(end, 2 * len(self._ids), 16), dtype=self._ids.dtype)
            grown[: self._n] = self._ids[: self._n]
            self._ids = grown
        self._ids[new_codes] = new_ids
        self._n = end
        return self.transform(ids, input_name=input_name)

    def inverse_transform(self, codes):
        """Raw ids of codes (``-1`` is not allowed here)."""
        return self._ids[: self._n][np.asarray(codes)]

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._ids is not None:
            state["_ids"] = self._ids[: self._n].copy()
        return state
