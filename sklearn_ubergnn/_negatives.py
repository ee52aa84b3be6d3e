"""Negatives of a link-prediction stream, batch by batch: DyGLib's random, historical and inductive strategies."""
import numpy as np

from ._validation import check_ids, check_same_id_kind

__all__ = ["StreamNegativeSampler"]

NEGATIVE_STRATEGIES = ("random", "historical", "inductive")
_MAX_REDRAWS = 100


class StreamNegativeSampler:
    """Draw ``n_negatives`` negatives per positive of each test batch, then remember the batch.

    Pairs are directed ``(source, target)`` and hashed to int64 keys ``code(source) * n + code(target)``
    over one sorted vocabulary of every id involved; the sets of pairs are sorted key arrays, so each
    batch is a few ``np.isin`` / ``np.union1d`` calls, whatever its size.

    - ``"random"``: the positive's source and time, a target drawn uniformly from ``objects`` (no
      collision check: a negative may repeat a positive pair, with probability ``1 / len(objects)``).
    - ``"historical"``: whole pairs drawn without replacement from those seen before the batch (the
      model's history at the start plus the test batches already appended) and not in the batch.
    - ``"inductive"``: whole pairs drawn without replacement from those first seen in the test batches
      already appended: not in the starting history and not in the batch.

    Historical and inductive negatives replace both ends, as DyGLib's ``NegativeEdgeSampler``; they keep
    the positive's time. When fewer candidate pairs exist than negatives are needed, all of them are
    used and the rest are random negatives (the positive's source, a uniform target) redrawn until none
    is a pair of the batch; candidates and fills are then shuffled over the batch's slots.

    Parameters
    ----------
    strategy : {"random", "historical", "inductive"}
    objects : ndarray of shape (n_objects,)
        The ids random targets are drawn from.
    history : tuple of two ndarrays or None
        Sources and targets of the model's history at the start (None for ``"random"``).
    test : tuple of two ndarrays
        Sources and targets of the whole test stream (their ids enter the vocabulary).
    n_negatives : int
    rng : numpy.random.Generator
    """

    def __init__(self, strategy, objects, history, test, n_negatives, rng):
        self.strategy = strategy
        self.objects = objects
        self.n_negatives = n_negatives
        self.rng = rng
        if strategy == "random":
            return
        test_src, test_dst = (check_ids(ids, input_name=f"test[{end}]") for ids, end in zip(test, ("source", "target")))
        hist_src, hist_dst = (check_ids(ids, input_name=f"history[{end}]")
                              for ids, end in zip(history, ("source", "target")))
        check_same_id_kind(test_src, hist_src, "test", "history")
        check_same_id_kind(test_src, objects, "test", "objects")
        self._vocabulary = np.unique(np.concatenate([objects, hist_src, hist_dst, test_src, test_dst]))
        self._n = np.int64(len(self._vocabulary))
        self._objects = np.searchsorted(self._vocabulary, objects)
        self._history = np.unique(self.keys(hist_src, hist_dst))
        self._seen = self._history  # historical candidates: the history, then every appended batch
        self._new = np.empty(0, dtype=np.int64)  # inductive candidates: appended pairs not in the history

    def keys(self, sources, targets):
        """int64 keys of directed pairs of raw ids (all in the vocabulary)."""
        return np.searchsorted(self._vocabulary, sources) * self._n + np.searchsorted(self._vocabulary, targets)

    def sample(self, sources, targets):
        """Negatives of one batch of positives.

        Parameters
        ----------
        sources, targets : ndarray of shape (n_rows,)
            The batch's positive pairs (raw ids).

        Returns
        -------
        neg_sources, neg_targets : ndarray of shape (n_rows * n_negatives,)
            Raw ids; negatives ``i * n_negatives`` to ``(i + 1) * n_negatives - 1`` belong to row ``i``.
        """
        n_rows, k = len(sources), self.n_negatives
        size = n_rows * k
        if self.strategy == "random":  # one draw of `size` integers: the figures of one negative per row unchanged
            return np.repeat(sources, k), self.objects[self.rng.integers(0, len(self.objects), size)]
        batch = np.unique(self.keys(sources, targets))
        pool = self._seen if self.strategy == "historical" else self._new
        candidates = pool[~np.isin(pool, batch, assume_unique=True)]
        if len(candidates) >= size:
            chosen = candidates[self.rng.choice(len(candidates), size, replace=False)]
        else:
            slots = self.rng.permutation(size)
            chosen = np.empty(size, dtype=np.int64)
            chosen[slots[:len(candidates)]] = self.rng.permutation(candidates)
            fill = slots[len(candidates):]
            chosen[fill] = self._random_keys(np.searchsorted(self._vocabulary, sources)[fill // k], batch)
        return self._vocabulary[chosen // self._n], self._vocabulary[chosen % self._n]

    def _random_keys(self, source_codes, batch):
        """Keys of the sources with uniform targets from ``objects``, redrawn while a pair is in ``batch``."""
        keys = source_codes * self._n + self._objects[self.rng.integers(0, len(self._objects), len(source_codes))]
        for _ in range(_MAX_REDRAWS):
            clash = np.flatnonzero(np.isin(keys, batch))
            if not len(clash):
                return keys
            keys[clash] = source_codes[clash] * self._n + self._objects[
                self.rng.integers(0, len(self._objects), len(clash))]
        raise ValueError(
            f"could not draw random negatives outside the batch's pairs in {_MAX_REDRAWS} tries: objects holds "
            f"{len(self._objects)} ids; pass more objects or a smaller batch_size."
        )

    def append(self, sources, targets):
        """Remember a scored batch: its pairs become historical, and inductive when not in the history."""
        if self.strategy == "random":
            return
        batch = np.unique(self.keys(sources, targets))
        self._seen = np.union1d(self._seen, batch)
        self._new = np.union1d(self._new, batch[~np.isin(batch, self._history, assume_unique=True)])
