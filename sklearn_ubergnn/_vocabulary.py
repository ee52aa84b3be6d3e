"""Mapping between raw item ids and contiguous integer codes."""
import numpy as np

from ._validation import id_kind

__all__ = ["ItemVocabulary"]


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
        self.classes_ = np.unique(np.concatenate(id_arrays))
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
        pos = np.searchsorted(self.classes_, ids)
        pos_clipped = np.minimum(pos, len(self.classes_) - 1)
        found = self.classes_[pos_clipped] == ids
        return np.where(found, pos_clipped, -1).astype(np.int64)

    def inverse_transform(self, codes):
        """Raw ids of codes (``-1`` is not allowed here)."""
        return self.classes_[np.asarray(codes)]
