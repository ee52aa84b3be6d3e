"""Scaled cosine logits against a table of class vectors, with a closed-form backward.

``scale * q @ (W / |W|).T`` is NISER's output layer (Gupta et al., 2019). Written with autograd
it costs several passes over the ``(B, n)`` logits and the ``(n, d)`` table besides the two
matrix products (the saved raw scores, their product with the scale vector, the broadcast
``pow``/``sum`` chain of the norms). The gradient has a closed form that needs the matrix
products, one pass over the logits and three over the table:

``g_q = (G * c) @ W`` and ``g_W = M - (rowdot(W, M) / |W|^2) * W`` with ``M = (G * c).T @ q``,

where ``c = scale / |W|`` and ``G`` is the gradient of the logits: ``M`` projected on the plane
orthogonal to each row of ``W`` (the norm of a row gets no gradient from a cosine).
"""
import torch
from torch.autograd.function import once_differentiable

__all__ = ["cosine_backward", "cosine_logits", "inverse_norms", "table_factors"]

EPS = 1e-12  # F.normalize's floor on a norm


def inverse_norms(weight):
    """``1 / |w_i|`` of every row of ``weight`` ``(n, d)``, the norm floored at ``EPS`` as
    :func:`torch.nn.functional.normalize` floors it; shape ``(n,)``."""
    return table_factors(weight, 1.0)[1]


def table_factors(weight, scale):
    """``(c, inverse, live)`` of a class table ``(n, d)``: the column factors ``c = scale / |w_i|`` of
    the cosine logits, the inverse norms, and the rows whose norm is above the floor."""
    norm = torch.linalg.vector_norm(weight, dim=1)        # one reduction, no (n, d) temporary
    inverse = norm.clamp_min(EPS).reciprocal()
    return inverse * scale, inverse, norm > EPS


def cosine_backward(grad_scaled, query, weight, inverse, live, needs_input_grad):
    """Gradients of the query and the table from ``G * c``, the logits' gradient times the column
    factors (``(B, n)``); the closed form of the module docstring. Either may be None when not needed."""
    grad_query = torch.mm(grad_scaled, weight) if needs_input_grad[0] else None
    grad_weight = None
    if needs_input_grad[1]:
        grad_weight = torch.mm(query.t(), grad_scaled).t()  # faster than G^T Q for the BLAS
        # a row whose norm is floored is divided by a constant: no projection of its gradient
        radial = torch.einsum("nd,nd->n", weight, grad_weight) * inverse.square() * live  # a batched mm
        grad_weight.addcmul_(weight, radial.unsqueeze(1), value=-1)
    return grad_query, grad_weight


class _CosineLogits(torch.autograd.Function):
    @staticmethod
    def forward(ctx, query, weight, scale):
        factors, inverse, live = table_factors(weight, scale)
        ctx.save_for_backward(query, weight, factors, inverse, live)
        return torch.mm(query, weight.t()).mul_(factors)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        query, weight, factors, inverse, live = ctx.saved_tensors
        return (*cosine_backward(grad * factors, query, weight, inverse, live, ctx.needs_input_grad), None)


def cosine_logits(query, weight, scale=1.0):
    """``scale * query @ (weight / |weight|).T``: logits of cosine similarity to each class row.

    Parameters
    ----------
    query : torch.Tensor of shape (B, d)
        Query vectors (used as they are; normalise them first for a full cosine).
    weight : torch.Tensor of shape (n, d)
        One vector per class; each row is divided by its norm (floored at ``EPS``).
    scale : float, default=1.0
        Factor of the logits (NISER's ``sigma``, a softmax temperature's inverse).

    Returns
    -------
    torch.Tensor of shape (B, n)
        Equal to ``scale * query @ F.normalize(weight, dim=1).T`` up to float rounding, with
        the same gradients, computed in closed form (first-order only: no double backward).
    """
    if query.dim() != 2 or weight.dim() != 2 or query.shape[1] != weight.shape[1]:
        raise ValueError(f"cosine_logits needs query (B, d) and weight (n, d); got shapes "
                         f"{tuple(query.shape)} and {tuple(weight.shape)}.")
    return _CosineLogits.apply(query, weight, float(scale))
