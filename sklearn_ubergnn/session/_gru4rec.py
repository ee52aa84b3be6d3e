"""GRU4Rec session recommender: a GRU over each session's clicks (Hidasi et al., 2016)."""
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from .._docstrings import fill_doc
from ..base import TRAINING_CONSTRAINTS
from ..nn import GRU4Rec, SoftmaxCrossEntropyLoss
from ._base import _NetSessionRecommender
from ._data import PaddedSessionSource

__all__ = ["GRU4RecRecommender"]


@fill_doc
class GRU4RecRecommender(_NetSessionRecommender):
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
    {lr=1e-3}
    {lr_step_size=None}
    {lr_gamma}
    {weight_decay=0.0}
    {max_epochs=10}
    {validation_fraction=0.2}
    {patience=2}
    {refit}
    {torch_params}

    Attributes
    ----------
    {classes_items}
    n_items_ : int
        ``len(classes_)``.
    {vocabulary_}
    item_counts_ : ndarray of shape (n_items,), int64
        Training popularity, as for every recommender of the package (clicks of the training
        sessions rebuilt from the samples, each click counted once). Ranks items for sessions
        without a known item.
    {net_}
    {history_}
    {refit_attributes}

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
        **TRAINING_CONSTRAINTS,
        "refit": ["boolean"],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "embedding_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "session_column": [str, Integral],
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
        refit=False,
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
        self.refit = refit
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    _module = GRU4Rec
    _training_method = "item_logits"  # the criterion fuses the output layer with the loss

    def _criterion(self):
        return SoftmaxCrossEntropyLoss

    def _module_params(self):
        return {"n_items": self.n_items_, "hidden_size": self.hidden_size, "embedding_size": self.embedding_size,
                "n_layers": self.n_layers, "dropout": self.dropout}

    def _source(self, data, y=None):
        return PaddedSessionSource(data.codes, y)
