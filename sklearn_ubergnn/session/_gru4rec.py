"""GRU4Rec session recommender: a GRU over each session's clicks (Hidasi et al., 2016)."""
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._skorch import PaddedSessionDataset, inference_device, make_net, release_training_state, seed_from
from .._threads import uses_torch_threads
from .._validation import check_k, check_sessions, check_validation_split
from ..nn import GRU4Rec
from ._base import _BaseSessionRecommender

__all__ = ["GRU4RecRecommender"]


@fill_doc
class GRU4RecRecommender(_BaseSessionRecommender):
    """Session-based next-item recommender with a recurrent network (GRU4Rec).

    Each session's clicks go through an item embedding and ``n_layers`` GRU layers; the last
    state is the session vector, and an output layer scores every item of the catalogue. The
    network is trained with a softmax cross-entropy over the whole catalogue on ``(prefix, next
    item)`` samples, with Adam, early stopping on a random validation split and the other
    training knobs of :class:`UberGNNRecommender`. This is the "GRU4Rec" baseline of the
    SR-GNN and UBER-GNN papers; see Notes for how it departs from the original training scheme.

    Parameters
    ----------
    hidden_size : int, default=100
        Size of the GRU state (the session vector). GRU4Rec and SR-GNN's comparison use 100.
    embedding_size : int or None, default=None
        Size of the input item embedding; None means ``hidden_size``.
    n_layers : int, default=1
        Number of stacked GRU layers (the paper found one layer best).
    dropout : float, default=0.0
        Dropout on the item embeddings, between GRU layers and on the session vector before
        the output layer.
    session_column : str, default="session"
        The column holding the sessions (lists of item ids) when ``X`` is a DataFrame; the
        other columns are ignored (this model has no user features).
    {batch_size}
    lr : float, default=1e-3
        Learning rate of Adam.
    lr_step_size : int or None, default=None
        Multiply the learning rate by ``lr_gamma`` every ``lr_step_size`` epochs (skorch's
        ``LRScheduler(policy=StepLR)``); None keeps it constant.
    lr_gamma : float, default=0.1
        Decay factor of the step schedule.
    weight_decay : float, default=0.0
        L2 penalty passed to Adam.
    {max_epochs}
    validation_fraction : float or None, default=0.2
        Share of the training samples held out at random to monitor ``valid_loss`` and stop
        early. None trains on every sample for ``max_epochs`` epochs (recommended inside
        :class:`~sklearn.model_selection.GridSearchCV`, whose folds already validate). Too few
        samples to keep one on each side of the split (e.g. a single one): trained on all of
        them without early stopping, with a ``UserWarning`` giving the number needed.
    patience : int or None, default=2
        Stop when ``valid_loss`` has not improved for ``patience`` epochs and restore the best
        epoch's weights; None disables early stopping.
    {callbacks}
    {device}
    {random_state}
    {verbose}
    {n_jobs}

    Attributes
    ----------
    classes_ : ndarray of shape (n_items,)
        Sorted distinct item ids of the training sessions and targets (``int64`` or ``object``).
    n_items_ : int
        ``len(classes_)``.
    vocabulary_ : ItemVocabulary
        Raw ids <-> codes (positions in ``classes_``).
    item_counts_ : ndarray of shape (n_items,), int64
        Training popularity, as for every recommender of the package (clicks of the training
        sessions rebuilt from the samples, each click counted once). Ranks items for sessions
        without a known item.
    net_ : skorch.NeuralNet
        The trained skorch net (module ``net_.module_`` is a :class:`~sklearn_ubergnn.nn.GRU4Rec`).
    history_ : skorch.History
        Per-epoch training record (``train_loss``, ``valid_loss``, ``dur``, ...).

    See Also
    --------
    UberGNNRecommender : Gated GNN over session graphs (SR-GNN), with optional user context.
    SessionKNNRecommender : Session-based nearest neighbours (V-SKNN).
    PopularityRecommender : The fallback ranking, as a baseline.
    sklearn_ubergnn.nn.GRU4Rec : The torch module.

    Notes
    -----
    **Training scheme.** The original GRU4Rec trains on whole sessions with *session-parallel
    mini-batches* (the hidden state carried from click to click across a batch of concurrent
    sessions) and ranking losses (TOP1, BPR) over in-batch negatives. Like later
    reproductions (and like SR-GNN and UBER-GNN train their own models), this class trains on
    every prefix of a session with a full softmax cross-entropy over the catalogue: each
    sample is encoded from the start of its session, so the model, the data and the metrics
    are the same as for :class:`UberGNNRecommender`. Packed sequences make padding free.

    **Input layer.** The paper feeds one-hot item vectors into the GRU; this class learns an
    item embedding of ``embedding_size`` instead (the common modern choice; a one-hot input
    is an embedding folded into the GRU's input weights). The output layer has its own weights
    and a bias per item, as in GRU4Rec.

    **Inputs and unseen ids.** ``X`` is a sequence of sessions (lists of raw item ids) or a
    DataFrame with ``session_column``. Items unseen in ``fit`` are dropped from their session;
    a session left with no known item, or empty, gets the popularity ranking (``item_counts_``
    decreasing, ties in ``classes_`` order) from :meth:`recommend` and :meth:`predict`, and the
    popularity distribution from :meth:`predict_proba` (``fit`` refuses empty sessions).

    **Persistence and devices.** As :class:`UberGNNRecommender`: the fitted estimator pickles
    with the weights only (:func:`~sklearn_ubergnn._skorch.release_training_state`), and a model
    trained on a GPU predicts on a CPU-only machine.

    **Scoring.** :meth:`score` is SR-GNN's P@20 (the share of samples whose next item is in the
    top 20), not ClassifierMixin's accuracy. SR-GNN reports GRU4Rec at P@20 60.64 and MRR@20
    22.89 on YOOCHOOSE 1/64.

    References
    ----------
    B. Hidasi, A. Karatzoglou, L. Baltrunas, D. Tikk. Session-based Recommendations with
    Recurrent Neural Networks. ICLR 2016.
    S. Wu, Y. Tang, Y. Zhu, L. Wang, X. Xie, T. Tan. Session-based Recommendation with Graph
    Neural Networks. AAAI 2019.

    Examples
    --------
    >>> from sklearn_ubergnn.session import GRU4RecRecommender
    >>> X = [[1, 2], [2, 3], [1, 2, 3], [3, 1]]
    >>> y = [3, 1, 1, 2]
    >>> rec = GRU4RecRecommender(hidden_size=8, max_epochs=2, validation_fraction=None,
    ...                          random_state=0).fit(X, y)
    >>> rec.recommend([[1, 2], [99]], k=2).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **_BaseSessionRecommender._parameter_constraints,
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "embedding_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "session_column": [str, Integral],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_step_size": [Interval(Integral, 1, None, closed="left"), None],
        "lr_gamma": [Interval(Real, 0, 1, closed="right")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        hidden_size=100,
        embedding_size=None,
        n_layers=1,
        dropout=0.0,
        session_column="session",
        batch_size=100,
        lr=1e-3,
        lr_step_size=None,
        lr_gamma=0.1,
        weight_decay=0.0,
        max_epochs=10,
        validation_fraction=0.2,
        patience=2,
        callbacks=None,
        device="cpu",
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.hidden_size = hidden_size
        self.embedding_size = embedding_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.session_column = session_column
        self.batch_size = batch_size
        self.lr = lr
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ input handling
    def _sessions(self, X):
        """The sessions of ``X``: its ``session_column`` when ``X`` is a DataFrame, else ``X``."""
        if not isinstance(X, pd.DataFrame):
            return X
        if self.session_column not in X.columns:
            raise ValueError(
                f"X is a DataFrame without the session column {self.session_column!r}; its columns are "
                f"{list(X.columns)}. Name the column holding the sessions with session_column=..."
            )
        return X[self.session_column]

    # ------------------------------------------------------------------ fit
    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
    def fit(self, X, y):
        """Learn the item vocabulary, the item popularity and the network from sessions.

        Parameters
        ----------
        X : sequence of sessions or DataFrame
            Sessions of raw item ids in click order (a list of lists, a list of arrays or a
            pandas Series of lists), usually every prefix of every training session
            (:func:`sklearn_ubergnn.preprocessing.session_prefixes`), or a DataFrame with a
            ``session_column``.
        {next_items_y}

        Returns
        -------
        self : GRU4RecRecommender
            The fitted recommender.
        """
        return super().fit(self._sessions(X), y)

    def _fit_codes(self, sessions_codes, y_codes):
        seed = seed_from(self.random_state)
        self.net_ = make_net(
            GRU4Rec,
            criterion=torch.nn.CrossEntropyLoss,
            seed=seed,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            lr_step_size=self.lr_step_size,
            lr_gamma=self.lr_gamma,
            validation_fraction=check_validation_split(len(y_codes), self.validation_fraction),
            patience=self.patience,
            dataset=PaddedSessionDataset,
            callbacks=self.callbacks,
            device=self.device,
            verbose=self.verbose,
            n_jobs=self.n_jobs,
            n_items=self.n_items_,
            hidden_size=self.hidden_size,
            embedding_size=self.embedding_size,
            n_layers=self.n_layers,
            dropout=self.dropout,
        )
        dataset = PaddedSessionDataset(sessions_codes, y_codes)
        with torch.random.fork_rng(devices=[]):  # seed weights and dropout, leave the global RNG alone
            torch.manual_seed(seed)
            self.net_.fit(dataset, y=None)
        release_training_state(self.net_)
        self.history_ = self.net_.history
        return self

    # ------------------------------------------------------------------ inference
    def _logits(self, sessions_codes):
        """Logits ``(b, n_items)`` (a tensor on the inference device) of a batch of known codes."""
        device = inference_device(self.net_, self.device)
        module = self.net_.module_
        module.eval()
        batch = PaddedSessionDataset(sessions_codes).batch(np.arange(len(sessions_codes)))[0]
        with torch.inference_mode():
            return module(**batch.to(device).fields)

    def _score_codes(self, sessions_codes):
        # The base class's hook, used by predict_proba: the softmax, positive and summing to 1.
        return torch.softmax(self._logits(sessions_codes).double(), dim=1).cpu().numpy()

    @uses_torch_threads
    def recommend(self, X, k=20):
        """Return the ``k`` best items of each session, best first.

        Computed batch by batch (``batch_size`` sessions): the network's logits, then
        ``torch.topk``; the full ``(n_sessions, n_items)`` score matrix is never built. Unseen
        item ids are ignored; a session with no known item (all unseen, or empty) gets the
        popularity ranking.

        Parameters
        ----------
        X : sequence of sessions or DataFrame
            As in :meth:`fit`.
        k : int, default=20
            Number of items to return per session, best first. At most ``len(classes_)`` are
            returned when the catalogue is smaller.

        Returns
        -------
        ranked : ndarray of shape (n_sessions, min(k, ``n_items_``))
            Raw item ids (``classes_`` values), best first; no id repeats within a row.
        """
        check_is_fitted(self)
        k = min(check_k(k), self.n_items_)
        sessions = check_sessions(self._sessions(X), allow_empty=True)
        popular = np.argsort(-self.item_counts_, kind="stable")[:k]
        parts = []
        for _, _, batch in self._encoded_batches(sessions):
            top = torch.topk(self._logits(batch), k, dim=1).indices.cpu().numpy()
            top[batch.lengths == 0] = popular
            parts.append(top)
        return self.classes_[np.concatenate(parts)]

    @uses_torch_threads
    def predict_proba(self, X):
        """Return the network's softmax over ``classes_`` for each session.

        A session with no known item gets the popularity distribution
        ``item_counts_ / item_counts_.sum()``. This builds an ``(n_sessions, n_items)`` array:
        prefer :meth:`recommend` for ranking.

        Parameters
        ----------
        X : sequence of sessions or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_sessions, ``n_items_``)
            Rows sum to 1; column ``j`` is item ``classes_[j]``.
        """
        check_is_fitted(self)
        return super().predict_proba(self._sessions(X))

    @fill_doc
    @uses_torch_threads
    def score(self, X, y):
        """Return SR-GNN's P@20: the share of samples whose next item is in the top 20.

        This departs on purpose from :class:`~sklearn.base.ClassifierMixin`, whose ``score`` is
        the accuracy (= hit rate at 1). For other metrics pass a scorer from
        :func:`sklearn_ubergnn.metrics.make_topk_scorer`.

        Parameters
        ----------
        X : sequence of sessions or DataFrame
            As in :meth:`fit`.
        {next_items_y}

        Returns
        -------
        score : float
            :func:`sklearn_ubergnn.metrics.precision_at_k` at ``k=20``, in ``[0, 1]``.
        """
        check_is_fitted(self)
        return float(super().score(self._sessions(X), y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags
