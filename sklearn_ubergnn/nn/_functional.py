"""Segment operations and message passing on flat (unpadded) graph batches.

A batch of ``B`` graphs is one disjoint graph: node or position ``i`` belongs to segment
``seg[i]`` (``0 <= seg[i] < n_seg``) and edges are global index pairs. Everything here is a
whole-tensor ``index_add_`` / ``scatter_reduce`` operation: no Python loop over graphs, no
padding, no dense ``n x n`` matrix.

The private ``_check_*`` helpers validate shapes and dtypes (free: metadata only) and index
ranges. Range checks read tensor values, which on an accelerator forces a host sync, so they
run on CPU tensors only; on a GPU an out-of-range index still fails inside the kernel.
"""
import torch

__all__ = ["propagate", "segment_softmax", "segment_sum", "segment_mean"]


# --------------------------------------------------------------------------------------------
# input checks shared by the modules of nn/
# --------------------------------------------------------------------------------------------
def _check_tensor(name, x, ndim, *, integer=None):
    """Check that ``x`` is a tensor with ``ndim`` dimensions (and an integer/float dtype)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor; got {type(x).__name__}.")
    if x.dim() != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s); got shape {tuple(x.shape)} ({x.dim()} dimension(s))."
        )
    if integer is True and (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool):
        raise ValueError(f"{name} must hold integer indices (torch.long or torch.int); got dtype {x.dtype}.")
    if integer is False and not x.is_floating_point():
        raise ValueError(f"{name} must be a floating point tensor; got dtype {x.dtype}.")


def _check_size(name, x, dim, expected, what):
    """Check ``x.shape[dim] == expected``; ``what`` says where the expected size comes from."""
    if x.shape[dim] != expected:
        raise ValueError(
            f"{name} must have size {expected} in dimension {dim} ({what}); got shape {tuple(x.shape)}."
        )


def _check_index_range(name, index, low, high, what):
    """Check ``low <= index < high`` (CPU tensors only, see the module docstring)."""
    if index.numel() == 0 or index.device.type != "cpu":
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < low or hi >= high:
        raise ValueError(
            f"{name} must lie in [{low}, {high}) ({what}); got values in [{lo}, {hi}]."
        )


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------
def propagate(x, src, dst, weight=None):
    r"""Weighted message passing along an edge list: ``out[dst[e]] += weight[e] * x[src[e]]``.

    With a dense matrix ``A`` where ``A[dst[e], src[e]] = weight[e]`` (duplicate edges add up),
    this is ``out = A @ x``. Rows that receive no edge are zero.

    Parameters
    ----------
    x : torch.Tensor
        Node features.
    src, dst : torch.LongTensor
        Source and destination node of every edge; messages flow ``src -> dst``.
    weight : torch.Tensor or None, default=None
        Weight of every edge; ``None`` means all ones.

    Returns
    -------
    out : torch.Tensor
        Aggregated messages, same shape and dtype as ``x``.

    Shapes
    ------
    ``x (N, d) float``, ``src, dst (E,) long``, ``weight (E,) float``, ``out (N, d)``.
    """
    _check_tensor("x", x, 2)
    _check_tensor("src", src, 1, integer=True)
    _check_tensor("dst", dst, 1, integer=True)
    _check_size("dst", dst, 0, src.shape[0], "one entry per edge, as src")
    messages = x.index_select(0, src)
    if weight is not None:
        _check_tensor("weight", weight, 1)
        _check_size("weight", weight, 0, src.shape[0], "one entry per edge, as src")
        messages = messages * weight.to(x.dtype).unsqueeze(1)
    return x.new_zeros(x.shape).index_add_(0, dst, messages)


def segment_sum(x, seg, n_seg):
    r"""Sum the rows of ``x`` within each segment: ``out[s] = \sum_{i : seg[i] = s} x[i]``.

    Empty segments give zero rows.

    Parameters
    ----------
    x : torch.Tensor
        Values to pool; the first dimension runs over elements.
    seg : torch.LongTensor
        Segment of every element, in ``[0, n_seg)`` (need not be sorted).
    n_seg : int
        Number of segments ``B``.

    Returns
    -------
    out : torch.Tensor
        Per-segment sums.

    Shapes
    ------
    ``x (N, *) float``, ``seg (N,) long``, ``out (B, *)``.
    """
    _check_tensor("seg", seg, 1, integer=True)
    _check_size("seg", seg, 0, x.shape[0], "one entry per row of x")
    return x.new_zeros((n_seg, *x.shape[1:])).index_add_(0, seg, x)


def segment_mean(x, seg, n_seg):
    r"""Average the rows of ``x`` within each segment; empty segments give zero rows.

    ``out[s] = \frac{1}{|\{i : seg[i] = s\}|} \sum_{i : seg[i] = s} x[i]``.

    Parameters
    ----------
    x : torch.Tensor
        Values to pool; the first dimension runs over elements.
    seg : torch.LongTensor
        Segment of every element, in ``[0, n_seg)``.
    n_seg : int
        Number of segments ``B``.

    Returns
    -------
    out : torch.Tensor
        Per-segment means.

    Shapes
    ------
    ``x (N, *) float``, ``seg (N,) long``, ``out (B, *)``.
    """
    total = segment_sum(x, seg, n_seg)
    count = x.new_zeros(n_seg).index_add_(0, seg, x.new_ones(seg.shape[0])).clamp_(min=1)
    return total / count.view(-1, *([1] * (x.dim() - 1)))


def segment_softmax(score, seg, n_seg):
    r"""Softmax of ``score`` within each segment.

    ``out[i] = \exp(score[i] - m_s) / \sum_{j : seg[j] = s} \exp(score[j] - m_s)`` with
    ``s = seg[i]`` and ``m_s`` the segment's maximum (subtracted for numerical stability;
    it is detached, which leaves the value and the gradient of the softmax unchanged).
    The weights of every non-empty segment sum to one.

    Parameters
    ----------
    score : torch.Tensor
        One finite score per element.
    seg : torch.LongTensor
        Segment of every element, in ``[0, n_seg)``.
    n_seg : int
        Number of segments ``B``.

    Returns
    -------
    out : torch.Tensor
        Normalised weights, same shape as ``score``.

    Shapes
    ------
    ``score (N,) float``, ``seg (N,) long``, ``out (N,)``.
    """
    _check_tensor("score", score, 1, integer=False)
    _check_tensor("seg", seg, 1, integer=True)
    _check_size("seg", seg, 0, score.shape[0], "one entry per score")
    peak = score.new_full((n_seg,), float("-inf")).scatter_reduce(
        0, seg, score.detach(), "amax", include_self=False
    )
    e = (score - peak.index_select(0, seg)).exp()
    return e / e.new_zeros(n_seg).index_add_(0, seg, e).index_select(0, seg)


def click_positions(alias_offsets, n_clicks, cap):
    """Session of every click of a flat batch, and its position counted from the session's end.

    Parameters
    ----------
    alias_offsets : torch.LongTensor of shape (B + 1,)
        Click ranges: session ``b`` holds clicks ``alias_offsets[b] .. alias_offsets[b + 1] - 1``.
    n_clicks : int
        ``alias_offsets[-1]``, passed so that no value is read back from the device.
    cap : int
        Positions ``cap`` or more from the end are reported as ``cap``.

    Returns
    -------
    session : torch.LongTensor of shape (n_clicks,)
        The session of every click.
    reversed_position : torch.LongTensor of shape (n_clicks,)
        0 for a session's last click, 1 for the one before, ..., at most ``cap``.

    Examples
    --------
    >>> session, position = click_positions(torch.tensor([0, 3, 4]), 4, cap=1)
    >>> session.tolist(), position.tolist()
    ([0, 0, 0, 1], [1, 1, 0, 0])
    """
    lengths = alias_offsets.diff()
    session = torch.repeat_interleave(
        torch.arange(lengths.shape[0], device=alias_offsets.device), lengths, output_size=n_clicks
    )
    position = torch.arange(n_clicks, device=alias_offsets.device) - alias_offsets.index_select(0, session)
    return session, (lengths.index_select(0, session) - 1 - position).clamp(max=cap)
