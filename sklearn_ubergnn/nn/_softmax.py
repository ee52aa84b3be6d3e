"""The full-softmax cross-entropy fused with the output layer that makes its logits.

A next-item model ends in ``logits = c * (q @ W.T)``, ``(B, n)`` over the whole catalogue, and is
trained with the softmax cross-entropy of those logits. Composed from torch's pieces (the matrix
product, the column factors, ``F.cross_entropy``) the step makes about eight passes over the
``(B, n)`` block: the scores, the scaled scores, the log-softmax, the zeroed gradient of the
negative log-likelihood, the log-softmax backward, the scaled gradient. With the catalogue in the
tens of thousands these passes, not the two matrix products, are most of a training step.

:func:`softmax_cross_entropy` computes the loss and its gradient in one buffer: the scores are
scaled in place, turned into the softmax in place (kept for the backward), and the backward
subtracts the targets and scales the same buffer in place before the two matrix products. The
gradient of the loss with respect to the logits is ``(softmax - t) / B`` where ``t`` is the
(smoothed) one-hot target, so nothing else needs saving.

:class:`ItemLogits` is what a network hands its criterion in training: the factors of the logits,
not the logits, so the criterion can take the fused path.
"""
from typing import NamedTuple

import torch
from torch.autograd.function import once_differentiable

from ._cosine import cosine_backward, cosine_logits, table_factors
from ._functional import _check_index_range, _check_size, _check_tensor

__all__ = ["ItemLogits", "softmax_cross_entropy"]


class ItemLogits(NamedTuple):
    """The factors of next-item logits: ``scale * query @ (weight / |weight|).T`` with
    ``normalize=True``, ``query @ weight.T + bias`` otherwise.

    Parameters
    ----------
    query : torch.Tensor of shape (B, d)
        Session vectors.
    weight : torch.Tensor of shape (n, d)
        Item table.
    scale : float, default=1.0
        Factor of the cosine logits (unused with ``normalize=False``).
    normalize : bool, default=False
        Divide each row of ``weight`` by its norm (:func:`~sklearn_ubergnn.nn.cosine_logits`).
    bias : torch.Tensor of shape (n,) or None, default=None
        Per-item bias of a linear output layer (``torch.nn.Linear``); only with ``normalize=False``.
    sparse : tuple of three torch.Tensor of shape (m,) or None, default=None
        ``(rows, columns, values)``: ``values[j]`` is added to the logit ``(rows[j], columns[j])``
        after the scale; repeated pairs add up. A few terms per row, such as a session's own
        items (:class:`~sklearn_ubergnn.nn.UberGNN`'s ``repeat_bias``).
    """

    query: torch.Tensor
    weight: torch.Tensor
    scale: float = 1.0
    normalize: bool = False
    bias: torch.Tensor | None = None
    sparse: tuple | None = None

    def logits(self):
        """The ``(B, n)`` logits themselves."""
        if self.normalize:
            out = cosine_logits(self.query, self.weight, self.scale)
        elif self.bias is not None:
            out = torch.addmm(self.bias, self.query, self.weight.t())
        else:
            out = self.query @ self.weight.t()
        if self.sparse is None:
            return out
        rows, columns, values = self.sparse
        return out.index_put((rows, columns), values, accumulate=True)


class _SoftmaxCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, query, weight, bias, target, scale, normalize, label_smoothing, rows, columns, values, own):
        # the one (B, n) buffer; a bias rides in the product as one more column (a column of ones in
        # the queries), which is cheaper than addmm's copy of it into the buffer
        probs = torch.mm(query, weight.t()) if bias is None else torch.mm(_with_ones(query),
                                                                           torch.cat([weight, bias.unsqueeze(1)], 1).t())
        if normalize:
            factors, inverse, live = table_factors(weight, scale)
            probs.mul_(factors)
        else:
            factors = inverse = live = None
        if values is not None:
            probs.index_put_((rows, columns), values, accumulate=True)
        # one exp over the block: softmax = exp(z - max) / sum, and log-sum-exp = max + log(sum)
        if own is None:
            top = probs.amax(dim=1, keepdim=True)
            target_logit = probs.gather(1, target.unsqueeze(1)).squeeze(1)
            loss = -target_logit
            if label_smoothing:
                loss = loss + label_smoothing * (target_logit - probs.mean(dim=1))
        else:  # the target is a class of its own, outside the block: one more term in each row's sum
            top = own.detach().unsqueeze(1)
            if probs.shape[1]:
                top = torch.maximum(top, probs.amax(dim=1, keepdim=True))
            loss = -own
        total = probs.sub_(top).exp_().sum(dim=1, keepdim=True)
        if own is not None:
            own_prob = (own.detach().unsqueeze(1) - top).exp_()
            total.add_(own_prob)
            own_prob = own_prob.squeeze(1).div_(total.squeeze(1))
        else:
            own_prob = None
        probs.div_(total)                                                        # now the softmax
        loss = loss + (top + total.log()).squeeze(1)
        ctx.save_for_backward(query, weight, target, probs, factors, inverse, live, rows, columns, own_prob)
        ctx.normalize, ctx.label_smoothing = normalize, label_smoothing
        return loss.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        query, weight, target, grad, factors, inverse, live, rows, columns, own_prob = ctx.saved_tensors
        # d loss / d logits = (softmax - (1 - eps) onehot - eps / n) / B, built in the saved buffer
        # (a second backward through the graph fails on torch's version counter of that buffer);
        # with the target's own logit, the block's gradient is the softmax alone and the own
        # logit's is its probability - 1
        n_rows, n_classes = grad.shape
        eps = ctx.label_smoothing
        if own_prob is None:
            grad[torch.arange(n_rows, device=grad.device), target] -= 1.0 - eps
            grad_own = None
        else:
            grad_own = (own_prob - 1.0).mul_(grad_loss / n_rows) if ctx.needs_input_grad[10] else None
        if eps:
            grad.sub_(eps / n_classes)
        # the sparse terms sit after the scale: their gradient is the logits' own
        grad_values = grad[rows, columns] * (grad_loss / n_rows) if ctx.needs_input_grad[9] else None
        if ctx.normalize:
            grad.mul_(factors * (grad_loss / n_rows))
            return (*cosine_backward(grad, query, weight, inverse, live, ctx.needs_input_grad),
                    None, None, None, None, None, None, None, grad_values, grad_own)
        grad.mul_(grad_loss / n_rows)
        grad_query = torch.mm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_weight = grad_bias = None
        with_bias = ctx.needs_input_grad[2]
        if ctx.needs_input_grad[1] or with_bias:
            # (Q^T G)^T, not G^T Q: the transposed (B, n) operand is the slow one for the BLAS; with a
            # bias, its gradient (the column sums of G) is the last row of the same product
            both = torch.mm((_with_ones(query) if with_bias else query).t(), grad)
            grad_weight = both[:query.shape[1]].t() if ctx.needs_input_grad[1] else None
            grad_bias = both[-1] if with_bias else None
        return grad_query, grad_weight, grad_bias, None, None, None, None, None, None, grad_values, grad_own


def _with_ones(query):
    """``query`` with a column of ones appended: ``(B, d + 1)``."""
    return torch.cat([query, query.new_ones(query.shape[0], 1)], 1)


def check_label_smoothing(label_smoothing):
    """Raise a one-line ValueError unless ``0 <= label_smoothing < 1``."""
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing}.")


def softmax_cross_entropy(logits, target=None, label_smoothing=0.0, *, target_logits=None):
    """Mean softmax cross-entropy of next-item logits, fused with the layer that makes them.

    Parameters
    ----------
    logits : ItemLogits or torch.Tensor of shape (B, n)
        The factors of the logits (the fused path), or the logits themselves (then
        :func:`torch.nn.functional.cross_entropy`).
    target : torch.Tensor of shape (B,), integer, or None
        Class index of each row, in ``[0, n)``. None with ``target_logits``.
    label_smoothing : float, default=0.0
        Share ``eps`` of the target spread uniformly over all ``n`` classes, as in
        :class:`torch.nn.CrossEntropyLoss`. Only with ``target``.
    target_logits : torch.Tensor of shape (B,), float, or None, default=None
        Instead of ``target``: each row's target is a class of its own outside the ``n``
        columns, with this logit; the loss of row ``b`` is
        ``logsumexp(target_logits[b], logits[b]) - target_logits[b]``. This is the sampled
        softmax of a positive against ``n`` shared negatives (a column equal to the row's
        positive masked with a ``-inf`` sparse term). Only with ``ItemLogits``.

    Returns
    -------
    torch.Tensor, scalar
        Equal to ``F.cross_entropy(logits.logits(), target, label_smoothing=eps)`` (with
        ``target_logits``: to ``F.cross_entropy`` of ``[target_logits, logits.logits()]`` and
        target 0) up to float rounding, with the same gradients (first-order only: no double
        backward).

    Notes
    -----
    On the fused path the backward turns the saved softmax into the gradient in place, so the
    graph can be walked back once: a second ``backward`` through it (``retain_graph=True``)
    raises torch's "modified by an inplace operation" error instead of a wrong gradient.

    Examples
    --------
    >>> import torch
    >>> q, w, y = torch.randn(3, 4), torch.randn(5, 4), torch.tensor([0, 4, 2])
    >>> fused = softmax_cross_entropy(ItemLogits(q, w, scale=8.0, normalize=True), y)
    >>> plain = torch.nn.functional.cross_entropy(ItemLogits(q, w, 8.0, True).logits(), y)
    >>> bool(torch.isclose(fused, plain))
    True
    >>> pos = torch.randn(3)
    >>> fused = softmax_cross_entropy(ItemLogits(q, w), target_logits=pos)
    >>> plain = torch.nn.functional.cross_entropy(torch.cat([pos[:, None], q @ w.T], 1), torch.zeros(3, dtype=int))
    >>> bool(torch.isclose(fused, plain))
    True
    """
    check_label_smoothing(label_smoothing)
    if (target is None) == (target_logits is None):
        raise ValueError("softmax_cross_entropy needs exactly one of target and target_logits.")
    if target_logits is not None and (isinstance(logits, torch.Tensor) or label_smoothing):
        raise ValueError("target_logits needs ItemLogits and no label_smoothing.")
    if isinstance(logits, torch.Tensor):
        return torch.nn.functional.cross_entropy(logits, target, label_smoothing=label_smoothing)
    query, weight = logits.query, logits.weight
    _check_tensor("query", query, 2, integer=False)
    _check_tensor("weight", weight, 2, integer=False)
    _check_size("weight", weight, 1, query.shape[1], "the size of the query vectors")
    if target is not None:
        _check_tensor("target", target, 1, integer=True)
        _check_size("target", target, 0, query.shape[0], "one class per query row")
        _check_index_range("target", target, 0, weight.shape[0],
                           f"class indices, {weight.shape[0]} rows in weight")
        target = target.long()
    else:
        _check_tensor("target_logits", target_logits, 1, integer=False)
        _check_size("target_logits", target_logits, 0, query.shape[0], "one logit per query row")
    bias = logits.bias
    if bias is not None:
        if logits.normalize:
            raise ValueError("ItemLogits: a bias needs normalize=False (a cosine has no bias).")
        _check_tensor("bias", bias, 1, integer=False)
        _check_size("bias", bias, 0, weight.shape[0], "one entry per row of weight")
    rows = columns = values = None
    if logits.sparse is not None:
        rows, columns, values = _check_sparse(logits.sparse, query.shape[0], weight.shape[0])
    return _SoftmaxCrossEntropy.apply(query, weight, bias, target, float(logits.scale),
                                      bool(logits.normalize), float(label_smoothing), rows, columns, values,
                                      target_logits)


def _check_sparse(sparse, n_rows, n_columns):
    """``ItemLogits.sparse`` as three checked tensors ``(rows, columns, values)``."""
    if len(sparse) != 3:
        raise ValueError(f"ItemLogits.sparse must be (rows, columns, values); got {len(sparse)} items.")
    rows, columns, values = sparse
    _check_tensor("sparse rows", rows, 1, integer=True)
    _check_tensor("sparse columns", columns, 1, integer=True)
    _check_tensor("sparse values", values, 1, integer=False)
    for name, x in (("sparse columns", columns), ("sparse values", values)):
        _check_size(name, x, 0, rows.shape[0], "one entry per sparse row index")
    _check_index_range("sparse rows", rows, 0, n_rows, f"query rows, {n_rows} in query")
    _check_index_range("sparse columns", columns, 0, n_columns, f"classes, {n_columns} rows in weight")
    return rows.long(), columns.long(), values
