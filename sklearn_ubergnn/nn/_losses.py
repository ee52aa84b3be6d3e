"""Training criteria for next-item recommenders over a full softmax."""
import math

import torch
from torch import nn
from torch.nn import functional as F

from ._functional import _check_size, _check_tensor
from ._softmax import ItemLogits, check_label_smoothing, softmax_cross_entropy

__all__ = ["SoftmaxBCELoss", "SoftmaxCrossEntropyLoss"]

_LOG_HALF = -math.log(2.0)


def _log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate over the whole range (Maechler, 2012)."""
    return torch.where(x > _LOG_HALF, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


class SoftmaxCrossEntropyLoss(nn.Module):
    r"""Softmax cross-entropy over the catalogue, fused with the output layer in training.

    ``torch.nn.CrossEntropyLoss`` (mean reduction, optional label smoothing) that also accepts the
    factors of the logits (:class:`~sklearn_ubergnn.nn.ItemLogits`, what
    :meth:`UberGNN.item_logits <sklearn_ubergnn.nn.UberGNN.item_logits>` returns); then the loss and
    its gradient come from :func:`~sklearn_ubergnn.nn.softmax_cross_entropy` without the logits
    ever leaving it.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Share of the target spread uniformly over all classes (Szegedy et al., 2016).

    Shapes
    ------
    ``input (B, n) float`` logits or ``ItemLogits`` of ``B`` queries and ``n`` classes,
    ``target (B,) long`` class indices in ``[0, n)``; ``out ()``.

    Examples
    --------
    >>> import torch
    >>> q, w, y = torch.randn(2, 3), torch.randn(4, 3), torch.tensor([1, 3])
    >>> loss = SoftmaxCrossEntropyLoss(label_smoothing=0.1)
    >>> bool(torch.isclose(loss(ItemLogits(q, w), y), loss(q @ w.T, y)))
    True
    """

    def __init__(self, label_smoothing=0.0):
        super().__init__()
        check_label_smoothing(label_smoothing)
        self.label_smoothing = float(label_smoothing)

    def extra_repr(self):
        return f"label_smoothing={self.label_smoothing}"

    def forward(self, input, target):
        """Mean loss of ``input`` (logits or their factors) for the class indices ``target``."""
        return softmax_cross_entropy(input, target, self.label_smoothing)


class SoftmaxBCELoss(nn.Module):
    r"""Binary cross-entropy of the softmax outputs against the one-hot next item (UBER-GNN eq. 17).

    With ``p = softmax(z)`` over the ``n`` items and ``y`` the one-hot target of a sample::

        loss = - sum_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ]
             = - log p_t - sum_{i != t} log(1 - p_i)          # t = the target item

    The first term is the usual softmax cross-entropy; the second pushes every other item's
    probability towards 0. Both are computed from ``log_softmax`` (``log(1 - p_i)`` through a
    stable ``log1mexp``), so no probability is ever rounded to 0 or 1 inside a logarithm.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        How the per-sample losses (summed over the items) are combined.

    Shapes
    ------
    ``input (B, n) float`` logits, ``target (B,) long`` class indices in ``[0, n)``;
    ``out ()``, or ``(B,)`` with ``reduction="none"``.

    Notes
    -----
    The UBER-GNN paper writes the loss in this binary form; SR-GNN and most implementations
    train with the multi-class cross-entropy (``torch.nn.CrossEntropyLoss``), which is the
    first term alone. With thousands of items the second term is small next to the first
    unless the model puts much mass on wrong items.

    References
    ----------
    UBER-GNN, eq. 17. M. Maechler. Accurately Computing ``log(1 - exp(-|a|))``. 2012.

    Examples
    --------
    >>> import torch
    >>> loss = SoftmaxBCELoss()
    >>> logits = torch.tensor([[2.0, 0.0, -1.0]])
    >>> float(loss(logits, torch.tensor([0]))) > float(torch.nn.CrossEntropyLoss()(logits, torch.tensor([0])))
    True
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be one of ('mean', 'sum', 'none'); got {reduction!r}.")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"

    def forward(self, input, target):
        """Loss of logits ``input`` (or their factors, :class:`~sklearn_ubergnn.nn.ItemLogits`) for the
        class indices ``target``; see the class docstring."""
        if isinstance(input, ItemLogits):
            input = input.logits()
        _check_tensor("input", input, 2, integer=False)
        _check_tensor("target", target, 1, integer=True)
        _check_size("target", target, 0, input.shape[0], f"one class per row of input, {input.shape[0]} rows")
        log_p = F.log_softmax(input, dim=1)
        log_not_p = _log1mexp(log_p.clamp(max=-1e-7))  # p_i = 1 exactly only when n = 1 or logits overflow
        log_p_target = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        log_not_p_target = log_not_p.gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -log_p_target - (log_not_p.sum(dim=1) - log_not_p_target)
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss
