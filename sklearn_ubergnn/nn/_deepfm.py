"""DeepFM user encoder: static portrait fields -> a user vector U in R^M."""
import torch
from torch import nn

from ._functional import _check_size, _check_tensor

__all__ = ["DeepFM"]


class DeepFM(nn.Module):
    r"""DeepFM over categorical user fields, returning a vector ``U = sigmoid(FM + DNN)``.

    Every user is described by ``F`` categorical fields (continuous fields are discretised into
    bins upstream); field ``f`` takes values ``0 .. field_sizes[f] - 1``, where ``0`` means
    unknown or missing. With ``e_f`` the embedding (size ``k``) of the value of field ``f``::

        FM  = b + sum_f w[x_f] + P (1/2) ((sum_f e_f)^2 - sum_f e_f^2)    # first order + bi-interaction
        DNN = MLP([e_1; ...; e_F])                                         # ReLU hidden layers
        U   = sigmoid(FM + DNN)                                            # (B, M)

    ``w[x_f]`` in R^M is a first-order weight vector per field value, ``P`` is an ``M x k``
    projection of the bi-interaction vector and the squares are element-wise. The field
    embeddings are shared by the FM and the DNN parts (Guo et al., 2017).

    Parameters
    ----------
    field_sizes : sequence of int
        Number of values of each field, the unknown value ``0`` included (each >= 1).
    embedding_dim : int
        Size ``k`` of the field embeddings.
    out_dim : int
        Size ``M`` of the user vector.
    hidden_layers : sequence of int, default=(64,)
        Widths of the DNN's hidden layers; ``()`` gives a single linear layer.
    dropout : float, default=0.0
        Dropout after every hidden layer of the DNN.

    Attributes
    ----------
    embedding : torch.nn.Embedding
        All fields' embeddings in one table of ``sum(field_sizes)`` rows; field ``f``'s values
        start at ``field_offsets[f]``.
    first_order : torch.nn.Embedding
        The first-order weights ``w``, one M-vector per field value.
    bias : torch.nn.Parameter of shape (M,)
        The FM bias ``b``.
    interaction : torch.nn.Linear
        ``P``, ``k -> M`` without bias.
    dnn : torch.nn.Sequential
        The MLP ``F k -> hidden_layers -> M``.

    Shapes
    ------
    ``user_fields (B, F) long``, ``out (B, M)`` with values in (0, 1).

    Notes
    -----
    The FM of DeepFM (and of UBER-GNN, which uses it to encode user portraits) is
    scalar-valued: ``b + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j``. UBER-GNN needs an
    M-vector, so we generalise each term to R^M: scalar first-order weights become M-vectors
    and the pairwise term ``sum_{i<j} <e_i, e_j> = 1^T (bi-interaction vector)`` becomes
    ``P (bi-interaction vector)`` with a learned ``P``. With ``M = 1`` and ``P = 1^T`` this is
    the paper's FM. The unknown value 0 of each field has its own learned embedding (it is
    not a zero padding row), so "missing" can carry information.

    References
    ----------
    H. Guo, R. Tang, Y. Ye, Z. Li, X. He. DeepFM: A Factorization-Machine based Neural Network
    for CTR Prediction. IJCAI 2017.

    Examples
    --------
    >>> import torch
    >>> fm = DeepFM([3, 5], embedding_dim=4, out_dim=6)
    >>> fm(torch.tensor([[0, 4], [2, 1]])).shape
    torch.Size([2, 6])
    """

    def __init__(self, field_sizes, embedding_dim, out_dim, hidden_layers=(64,), dropout=0.0):
        super().__init__()
        field_sizes = [int(s) for s in field_sizes]
        hidden_layers = [int(s) for s in hidden_layers]
        if not field_sizes or min(field_sizes) < 1:
            raise ValueError(
                f"field_sizes must be a non-empty sequence of sizes >= 1 (value 0 is 'unknown'); "
                f"got {field_sizes}."
            )
        if embedding_dim < 1 or out_dim < 1 or (hidden_layers and min(hidden_layers) < 1):
            raise ValueError(
                f"embedding_dim, out_dim and hidden_layers must be >= 1; got embedding_dim="
                f"{embedding_dim}, out_dim={out_dim}, hidden_layers={hidden_layers}."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {dropout}.")
        self.field_sizes = tuple(field_sizes)
        self.embedding_dim = int(embedding_dim)
        self.out_dim = int(out_dim)
        self.hidden_layers = tuple(hidden_layers)
        self.dropout = float(dropout)
        offsets = torch.tensor([0, *field_sizes[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("field_offsets", offsets)
        self.register_buffer("field_limits", torch.tensor(field_sizes, dtype=torch.long))
        n_values = sum(field_sizes)
        self.embedding = nn.Embedding(n_values, embedding_dim)
        self.first_order = nn.Embedding(n_values, out_dim)
        self.bias = nn.Parameter(torch.empty(out_dim))
        self.interaction = nn.Linear(embedding_dim, out_dim, bias=False)
        layers, width = [], len(field_sizes) * embedding_dim
        for size in hidden_layers:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, out_dim))
        self.dnn = nn.Sequential(*layers)
        self.reset_parameters()

    @property
    def n_fields(self):
        """Number of fields ``F``."""
        return len(self.field_sizes)

    def reset_parameters(self):
        """Embeddings ~ N(0, 0.01), first-order weights and bias 0, linear layers torch's default."""
        nn.init.normal_(self.embedding.weight, std=0.01)
        nn.init.zeros_(self.first_order.weight)
        nn.init.zeros_(self.bias)
        self.interaction.reset_parameters()
        for layer in self.dnn:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def extra_repr(self):
        return (f"field_sizes={list(self.field_sizes)}, embedding_dim={self.embedding_dim}, "
                f"out_dim={self.out_dim}, hidden_layers={list(self.hidden_layers)}, dropout={self.dropout}")

    def forward(self, user_fields):
        """Encode users; see the class docstring for the equations."""
        _check_tensor("user_fields", user_fields, 2, integer=True)
        _check_size("user_fields", user_fields, 1, self.n_fields, f"one column per field, {self.n_fields} fields")
        if user_fields.device.type == "cpu" and user_fields.numel():
            bad = (user_fields < 0) | (user_fields >= self.field_limits)
            if bool(bad.any()):
                row, col = (int(i) for i in bad.nonzero()[0])
                raise ValueError(
                    f"user_fields[:, {col}] must lie in [0, {self.field_sizes[col]}) (field_sizes[{col}]"
                    f" = {self.field_sizes[col]}; 0 is 'unknown'); got {int(user_fields[row, col])} in "
                    f"row {row}. Encode unseen values as 0."
                )
        index = user_fields + self.field_offsets
        e = self.embedding(index)                                     # (B, F, k)
        summed = e.sum(dim=1)
        bi = 0.5 * (summed.pow(2) - e.pow(2).sum(dim=1))              # (B, k)
        fm = self.bias + self.first_order(index).sum(dim=1) + self.interaction(bi)
        deep = self.dnn(e.flatten(1))
        return torch.sigmoid(fm + deep)

