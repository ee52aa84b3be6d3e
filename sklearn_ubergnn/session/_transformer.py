"""Turn sessions of raw item ids into flat session graph batches (a pipeline's first step)."""
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._validation import FlatSessions, check_sessions
from .._vocabulary import ItemVocabulary
from ..graphs import build_session_graphs

__all__ = ["SessionGraphTransformer"]


@fill_doc
class SessionGraphTransformer(TransformerMixin, BaseEstimator):
    """Encode sessions of raw item ids as a batch of session graphs.

    ``fit`` learns the item vocabulary (sorted raw ids); ``transform`` maps every session to its
    directed session graph (distinct items as nodes, one edge per pair of consecutive clicks,
    SR-GNN's out- and in-normalised weights) and returns all of them as one flat
    :class:`~sklearn_ubergnn.graphs.SessionGraphBatch`. Use it as the first step of a pipeline
    whose final estimator accepts a ``SessionGraphBatch``::

        make_pipeline(SessionGraphTransformer(), graph_estimator)

    Parameters
    ----------
    handle_unknown : {"ignore", "error"}, default="ignore"
        What ``transform`` does with an item id not seen in ``fit``. ``"ignore"`` drops the
        click from its session before the graph is built (see Notes); ``"error"`` raises a
        ``ValueError`` naming the session, the position and the id.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        Maps raw ids to codes ``0..n_items_-1`` (``np.unique`` order) and unseen ids to ``-1``.
    classes_ : ndarray of shape (``n_items_``,)
        Sorted raw ids seen in ``fit``: every item of ``X`` and, when given, of ``y``.
        ``int64`` for integer ids, ``object`` for string ids.
    n_items_ : int
        Number of known items, ``len(classes_)``.

    See Also
    --------
    sklearn_ubergnn.graphs.build_session_graphs : The builder, for sessions already encoded.
    sklearn_ubergnn.graphs.session_adjacency : Dense ``A_out`` and ``A_in`` of one session.

    Notes
    -----
    **Unseen items.** With ``handle_unknown="ignore"`` an unseen click is removed from its
    session and the clicks on each side of it become consecutive: ``[a, X, b]`` with ``X``
    unseen gives the graph of ``[a, b]`` (edge ``a -> b``). A session whose items are all unseen
    becomes an empty graph (no nodes, no edges, ``last_node == -1``), and so does an empty
    session passed to ``transform`` (``fit`` refuses empty sessions); session recommenders
    recommend the training popularity ranking for it instead of failing.

    **Next items extend the catalogue.** ``fit(X, y)`` learns the ids of ``X`` and of ``y``, so an
    item that only ever appears as a next item still gets a code (and can be a node when it
    occurs in a session passed to ``transform``). Inside a pipeline, ``Pipeline.fit(X, y)``
    passes ``y`` here, so ``classes_`` matches the final recommender's catalogue.

    ``transform`` accepts the same inputs as ``fit`` and never modifies them.

    Examples
    --------
    >>> from sklearn_ubergnn.session._transformer import SessionGraphTransformer
    >>> graphs = SessionGraphTransformer().fit([[1, 2, 3, 2], [3, 4]], y=[4, 5])
    >>> graphs.classes_
    array([1, 2, 3, 4, 5])
    >>> batch = graphs.transform([[1, 2, 3, 2], [9, 5]])
    >>> batch
    SessionGraphBatch(n_sessions=2, n_nodes=4, n_edges=3, n_clicks=5, n_items=5)
    >>> batch.classes[batch.items].tolist(), batch.last_node.tolist()
    ([1, 2, 3, 5], [1, 3])
    """

    _parameter_constraints = {
        "handle_unknown": [StrOptions({"ignore", "error"})],
    }

    def __init__(self, *, handle_unknown="ignore"):
        self.handle_unknown = handle_unknown

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the item vocabulary of the sessions (and of their next items).

        Parameters
        ----------
        {sessions_X}
        y : array-like of shape (n_sessions,), default=None
            The next item of each session (same id type as ``X``). Its ids join the vocabulary.

        Returns
        -------
        self : SessionGraphTransformer
            The fitted transformer.
        """
        if y is None:
            sessions = check_sessions(X)
            self.vocabulary_ = ItemVocabulary().fit(sessions.items)
        else:
            sessions, y = check_sessions(X, y)
            self.vocabulary_ = ItemVocabulary().fit(sessions.items, y)
        self.classes_ = self.vocabulary_.classes_
        self.n_items_ = len(self.classes_)
        return self

    @fill_doc
    def transform(self, X):
        """Build the session graphs of ``X``.

        Parameters
        ----------
        {sessions_X}

        Returns
        -------
        batch : SessionGraphBatch
            ``len(X)`` session graphs; ``batch.classes`` is ``classes_``.

        Raises
        ------
        ValueError
            With ``handle_unknown="error"``, if ``X`` holds an id not seen in ``fit``.
        TypeError
            If ``X`` holds ids of another kind (int vs str) than those seen in ``fit``.
        """
        check_is_fitted(self)
        sessions = check_sessions(X, allow_empty=True)
        codes = self.vocabulary_.transform(sessions.items, input_name="X")
        if self.handle_unknown == "error":
            unseen = np.flatnonzero(codes < 0)
            if len(unseen):
                flat = int(unseen[0])
                session = int(np.searchsorted(sessions.offsets, flat, side="right") - 1)
                position = flat - int(sessions.offsets[session])
                raise ValueError(
                    f"X[{session}][{position}] = {sessions.items[flat]!r} is an item id not seen in fit "
                    f"({len(unseen)} unseen click(s) in X). Refit on data that includes it, or use "
                    "handle_unknown='ignore' to drop unseen items from their sessions."
                )
        return build_session_graphs(FlatSessions(codes, sessions.offsets), self.classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True  # item ids may be strings
        tags.target_tags.required = False
        # The output is a SessionGraphBatch, not an array: no dtype is preserved.
        tags.transformer_tags.preserves_dtype = []
        return tags
