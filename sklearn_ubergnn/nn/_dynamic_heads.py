"""Models over query sub-graphs of a dynamic interaction graph: link prediction and classification.

A *query* is one object at one time; its sub-graph (history strictly before that time, the
query node last) is encoded by one of the sub-graph encoders of :mod:`sklearn_ubergnn.nn`. The
node input is ``[E[object] ; features]``: a learned object embedding (one shared row for
objects unknown at training time) next to numeric node features (event features, structural
indicators, revealed labels...), which the caller computes.
"""
import torch
from torch import nn

from ._dynamic import DAGLSTMEncoder, RNNSubgraphEncoder, TransformerSubgraphEncoder
from ._functional import _check_size, _check_tensor

__all__ = ["DynamicQueryModel"]

_ENCODERS = ("lstm", "rnn", "transformer")


def _vector(name, value, shape, default, meaning):
    """``value`` as a float32 tensor of ``shape`` (a copy), or ``default`` everywhere when None;
    ``meaning`` names the sizes in the error message."""
    if value is None:
        return torch.full(shape, float(default))
    value = torch.as_tensor(value, dtype=torch.float32).clone()
    if value.shape != shape:
        expected = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
        raise ValueError(f"{name} must have shape ({expected}) ({meaning}); got {tuple(value.shape)}.")
    return value


class DynamicQueryModel(nn.Module):
    r"""Encode query sub-graphs and score them: a link logit, class logits or plain vectors.

    Each position ``i`` of the flat batch becomes ``x_i = [E[objects_i] ; features_i]``; the
    encoder (``"lstm"``: :class:`DAGLSTMEncoder`, ``"rnn"``: :class:`RNNSubgraphEncoder`,
    ``"transformer"``: :class:`TransformerSubgraphEncoder`) turns every sub-graph into the vector
    ``h`` of its last node, the query node. With ``pair=True`` the ``S = 2B`` sub-graphs are the
    two ends of ``B`` interactions (sub-graphs ``b`` and ``b + B``) and the head reads
    ``[h_s ; h_d ; h_s * h_d]``; with ``pair=False`` it reads ``h`` alone. The head is a two-layer
    MLP: ``out = W_2 relu(W_1 z + b_1) + b_2``.

    With ``n_wide > 0`` the model is *wide & deep* (Cheng et al., 2016): a linear term of
    per-query numeric inputs ``w`` (e.g. history statistics), standardised inside the module,
    is added to the head's output: ``out = W_2 relu(W_1 z + b_1) + b_2 + V (w - mu) / sigma``.
    The model then starts as a linear model of ``w``: ``W_2 = 0`` (the deep part's output
    starts at zero), ``V = wide_weight`` and ``b_2 = output_bias`` (zeros when not given, e.g.
    the solution of a logistic regression on the standardised ``w``). The other layers are
    drawn as without the wide part.

    Parameters
    ----------
    n_objects : int
        Rows of the object embedding besides the shared "unknown" row (index ``n_objects``).
    n_features : int
        Numeric node features ``F`` given with every position.
    hidden_size : int, default=64
        Size ``d`` of the sub-graph encodings.
    object_dim : int, default=16
        Size of the object embedding; 0 disables it (a purely inductive model).
    encoder : {"lstm", "rnn", "transformer"}, default="lstm"
    time_dim : int, default=8
        Size of the time encoding of ``delta_t`` inside the encoder.
    n_outputs : int, default=1
        1: a link logit per interaction (output ``(B,)``); more: class logits ``(B, n_outputs)``.
    pair : bool, default=True
        Whether consecutive halves of the sub-graphs are the two ends of each interaction.
    dropout : float, default=0.1
        Dropout on the node inputs and inside the head (and the Transformer).
    n_heads, n_layers : int, default=2
        Transformer encoder only.
    n_wide : int, default=0
        Size ``W`` of the wide inputs (0: no wide part).
    wide_mean, wide_scale : sequence of float of length ``n_wide`` or None, default=None
        Standardisation ``mu``, ``sigma`` of the wide inputs (None: 0 and 1); kept as buffers.
    wide_weight : array-like of shape (n_outputs, n_wide) or None, default=None
        Initial ``V`` (None: zeros).
    output_bias : array-like of shape (n_outputs,) or None, default=None
        Initial ``b_2`` when ``n_wide > 0`` (None: zeros).

    Shapes
    ------
    ``objects (M,) long``, ``features (M, F) float``, ``offsets (S + 1,) long``,
    ``delta_t (M,) float``, ``depth (M,) long``, ``parents (M, 2) long``, ``level (M,) long``,
    ``wide (B, W) float`` (only with ``n_wide > 0``, and then required);
    ``out (B,)`` when ``n_outputs == 1`` else ``(B, n_outputs)``, with ``B = S // 2`` if
    ``pair`` else ``S``. :meth:`encode` returns ``(S, d)``.
    """

    def __init__(self, n_objects, n_features, *, hidden_size=64, object_dim=16, encoder="lstm", time_dim=8,
                 n_outputs=1, pair=True, dropout=0.1, n_heads=2, n_layers=2, n_wide=0, wide_mean=None,
                 wide_scale=None, wide_weight=None, output_bias=None):
        super().__init__()
        if encoder not in _ENCODERS:
            raise ValueError(f"encoder must be one of {_ENCODERS}; got {encoder!r}.")
        if n_objects < 0 or n_features < 0 or object_dim < 0 or n_wide < 0 or n_outputs < 1:
            raise ValueError(
                f"n_objects, n_features, object_dim and n_wide must be >= 0 and n_outputs >= 1; got {n_objects}, "
                f"{n_features}, {object_dim}, {n_wide} and {n_outputs}."
            )
        if object_dim + n_features < 1:
            raise ValueError("the node input is empty: give object_dim >= 1 or n_features >= 1.")
        self.n_objects, self.n_features = int(n_objects), int(n_features)
        self.hidden_size, self.object_dim = int(hidden_size), int(object_dim)
        self.encoder_name, self.n_outputs, self.pair = encoder, int(n_outputs), bool(pair)
        self.object_embedding = nn.Embedding(n_objects + 1, object_dim) if object_dim else None
        size = object_dim + n_features
        if encoder == "lstm":
            self.encoder = DAGLSTMEncoder(size, hidden_size, time_dim=time_dim)
        elif encoder == "rnn":
            self.encoder = RNNSubgraphEncoder(size, hidden_size, time_dim=time_dim)
        else:
            self.encoder = TransformerSubgraphEncoder(size, hidden_size, time_dim=time_dim, n_heads=n_heads,
                                                      n_layers=n_layers, dropout=dropout)
        self.input_dropout = nn.Dropout(dropout)
        head_in = 3 * hidden_size if pair else hidden_size
        self.head = nn.Sequential(nn.Linear(head_in, hidden_size), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden_size, n_outputs))
        self.n_wide = int(n_wide)
        self.wide = nn.Parameter(torch.zeros(n_outputs, self.n_wide)) if self.n_wide else None
        if self.n_wide:
            self.register_buffer("wide_mean", _vector("wide_mean", wide_mean, (self.n_wide,), 0.0, "n_wide"))
            self.register_buffer("wide_scale", _vector("wide_scale", wide_scale, (self.n_wide,), 1.0, "n_wide"))
            # the linear model the module starts from (kept for reset_parameters)
            self.wide_weight = _vector("wide_weight", wide_weight, (self.n_outputs, self.n_wide), 0.0,
                                       "n_outputs, n_wide")
            self.output_bias = _vector("output_bias", output_bias, (self.n_outputs,), 0.0, "n_outputs")
        elif wide_weight is not None or output_bias is not None:
            raise ValueError("wide_weight and output_bias start the wide part; give n_wide >= 1 with them.")
        self.reset_parameters()

    def reset_parameters(self):
        if self.object_embedding is not None:
            nn.init.normal_(self.object_embedding.weight, std=0.1)
        for layer in self.head:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        if self.wide is not None:
            with torch.no_grad():
                self.wide.copy_(self.wide_weight)
                self.head[-1].weight.zero_()
                self.head[-1].bias.copy_(self.output_bias)

    def extra_repr(self):
        return (f"n_objects={self.n_objects}, n_features={self.n_features}, encoder={self.encoder_name!r}, "
                f"hidden_size={self.hidden_size}, n_outputs={self.n_outputs}, pair={self.pair}, "
                f"n_wide={self.n_wide}")

    def encode(self, objects, features, offsets, delta_t, depth=None, parents=None, level=None, wide=None):
        """Vector ``h`` of every sub-graph's query node, ``(S, d)``; ``wide`` (the batch's wide
        inputs, when it carries them) is not part of the encoding and is ignored."""
        _check_tensor("objects", objects, 1, integer=True)
        _check_tensor("features", features, 2, integer=False)
        _check_size("features", features, 1, self.n_features, "n_features")
        _check_size("objects", objects, 0, features.shape[0], "one object per row of features")
        x = features
        if self.object_embedding is not None:
            x = torch.cat([self.object_embedding(objects), features], dim=1)
        x = self.input_dropout(x)
        return self.encoder(x, offsets, delta_t, depth=depth, parents=parents, level=level)

    def forward(self, objects, features, offsets, delta_t, depth=None, parents=None, level=None, wide=None):
        """Link logits ``(B,)`` or class logits ``(B, n_outputs)``; see the class docstring."""
        h = self.encode(objects, features, offsets, delta_t, depth, parents, level)
        if self.pair:
            if h.shape[0] % 2:
                raise ValueError(f"pair=True needs an even number of sub-graphs (2B); got {h.shape[0]}.")
            h_s, h_d = h.chunk(2, dim=0)
            h = torch.cat([h_s, h_d, h_s * h_d], dim=1)
        out = self.head(h)
        if self.wide is not None:
            if wide is None:
                raise ValueError(f"wide is required: the model has a wide part of n_wide={self.n_wide} inputs.")
            _check_tensor("wide", wide, 2, integer=False)
            _check_size("wide", wide, 1, self.n_wide, "n_wide")
            _check_size("wide", wide, 0, out.shape[0], "one row per query")
            out = out + ((wide - self.wide_mean) / self.wide_scale) @ self.wide.T
        elif wide is not None:
            raise ValueError("wide was given but the model has no wide part (n_wide=0).")
        return out.squeeze(1) if self.n_outputs == 1 else out

    def proba(self, objects, features, offsets, delta_t, depth=None, parents=None, level=None, wide=None):
        """Probabilities in float64: the link probability ``sigmoid(logit)`` ``(B,)`` when
        ``n_outputs == 1``, else the class probabilities ``softmax(logits)`` ``(B, n_outputs)``."""
        logits = self(objects, features, offsets, delta_t, depth, parents, level, wide).double()
        return torch.sigmoid(logits) if self.n_outputs == 1 else torch.softmax(logits, dim=1)

    def encode_pairs(self, objects, features, offsets, delta_t, depth=None, parents=None, level=None,
                     wide=None):
        """``[h_s ; h_d]`` of each of the ``B`` interactions (``pair`` layout), ``(B, 2 d)``; ``wide``
        is ignored, as in :meth:`encode`."""
        h = self.encode(objects, features, offsets, delta_t, depth, parents, level)
        h_s, h_d = h.chunk(2, dim=0)
        return torch.cat([h_s, h_d], dim=1)
