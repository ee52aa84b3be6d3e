"""Tests of the torch modules in sklearn_ubergnn.nn (CPU, fixed seeds, hand-built flat batches)."""
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn.nn import (
    DeepFM,
    GatedGraphNet,
    GlobalItemGraph,
    Highway,
    ItemLogits,
    SessionReadout,
    SoftmaxBCELoss,
    SoftmaxCrossEntropyLoss,
    StarNode,
    UberGNN,
    cosine_logits,
    propagate,
    segment_mean,
    segment_softmax,
    segment_sum,
    softmax_cross_entropy,
)
from sklearn_ubergnn.nn._functional import click_positions

HYPOTHESIS = settings(max_examples=25, deadline=None)
FIELD_SIZES = (3, 4)
READOUTS = ("mean", "local", "user", "hybrid")


# --------------------------------------------------------------------------------------------
# helpers: a tiny independent batch builder (the real one lives in graphs/) and dense references
# --------------------------------------------------------------------------------------------
def make_batch(sessions):
    """Flat batch of sessions of item codes, following CONTRIBUTING's SessionGraphBatch table."""
    items, node_graph, node_offsets = [], [], [0]
    src, dst, w_out, w_in, edge_offsets = [], [], [], [], [0]
    alias, alias_offsets, last_node = [], [0], []
    for b, session in enumerate(sessions):
        base = len(items)
        nodes = sorted(set(session))
        local = {item: base + i for i, item in enumerate(nodes)}
        items += nodes
        node_graph += [b] * len(nodes)
        node_offsets.append(len(items))
        counts = Counter(zip(session[:-1], session[1:]))
        out_deg, in_deg = Counter(), Counter()
        for (u, v), c in counts.items():
            out_deg[u] += c
            in_deg[v] += c
        for (u, v), c in sorted(counts.items()):
            src.append(local[u])
            dst.append(local[v])
            w_out.append(c / out_deg[u])
            w_in.append(c / in_deg[v])
        edge_offsets.append(len(src))
        alias += [local[item] for item in session]
        alias_offsets.append(len(alias))
        last_node.append(local[session[-1]] if session else -1)
    long = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
    return dict(
        items=long(items), node_graph=long(node_graph), node_offsets=long(node_offsets),
        edge_src=long(src), edge_dst=long(dst), edge_offsets=long(edge_offsets),
        edge_weight_out=torch.tensor(w_out, dtype=torch.float32),
        edge_weight_in=torch.tensor(w_in, dtype=torch.float32),
        alias=long(alias), alias_offsets=long(alias_offsets), last_node=long(last_node),
    )


def dense(batch, weight):
    """Dense matrix M with M[dst, src] = weight (so M @ x == propagate(x, src, dst, weight))."""
    n = batch["items"].shape[0]
    m = torch.zeros(n, n)
    m.index_put_((batch["edge_dst"], batch["edge_src"]), weight, accumulate=True)
    return m


def make_net(readout, users=True, **kwargs):
    torch.manual_seed(0)
    return UberGNN(n_items=7, hidden_size=6, readout=readout, field_sizes=FIELD_SIZES if users else None,
                   user_dim=5 if users else None, fm_embedding_dim=3, dnn_layers=(4,), **kwargs)


def user_fields_for(n_sessions, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, size, (n_sessions,), generator=g) for size in FIELD_SIZES], dim=1)


def forward_args(batch, user_fields=None):
    return {**batch, "user_fields": user_fields}


# --------------------------------------------------------------------------------------------
# functional
# --------------------------------------------------------------------------------------------
def test_flat_batch_matches_hand_written_adjacency():
    # session [1, 2, 3, 2, 4]; nodes sorted by code: 1, 2, 3, 4 -> 0, 1, 2, 3
    batch = make_batch([[1, 2, 3, 2, 4]])
    a_out = torch.tensor([[0, 1, 0, 0], [0, 0, .5, .5], [0, 1, 0, 0], [0, 0, 0, 0]])
    a_in = torch.tensor([[0, 0, 0, 0], [.5, 0, .5, 0], [0, 1, 0, 0], [0, 1, 0, 0]])
    # out-messages flow dst -> src: A_out[src, dst] = w_out;  in-messages src -> dst: A_in[dst, src] = w_in
    assert torch.equal(dense(batch, batch["edge_weight_out"]).t(), a_out)
    assert torch.equal(dense(batch, batch["edge_weight_in"]), a_in)
    torch.manual_seed(0)
    h = torch.randn(4, 3)
    flat_out = propagate(h, batch["edge_dst"], batch["edge_src"], batch["edge_weight_out"])
    flat_in = propagate(h, batch["edge_src"], batch["edge_dst"], batch["edge_weight_in"])
    assert torch.allclose(flat_out, a_out @ h, atol=1e-6)
    assert torch.allclose(flat_in, a_in @ h, atol=1e-6)


@HYPOTHESIS
@given(n=st.integers(1, 6), edges=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12),
       seed=st.integers(0, 100))
def test_propagate_equals_dense_product(n, edges, seed):
    edges = [(u % n, v % n) for u, v in edges]                 # duplicates allowed: they add up
    g = torch.Generator().manual_seed(seed)
    src = torch.tensor([u for u, _ in edges], dtype=torch.long)
    dst = torch.tensor([v for _, v in edges], dtype=torch.long)
    weight = torch.rand(len(edges), generator=g)
    h = torch.randn(n, 3, generator=g)
    a = torch.zeros(n, n).index_put_((dst, src), weight, accumulate=True)
    assert torch.allclose(propagate(h, src, dst, weight), a @ h, atol=1e-6)
    counts = torch.zeros(n, n).index_put_((dst, src), torch.ones(len(edges)), accumulate=True)
    assert torch.allclose(propagate(h, src, dst), counts @ h, atol=1e-6)     # weight=None: all ones


@HYPOTHESIS
@given(seg=st.lists(st.integers(0, 4), min_size=1, max_size=20), scale=st.sampled_from([1.0, 1e3]),
       seed=st.integers(0, 100))
def test_segment_softmax_sums_to_one(seg, scale, seed):
    seg = torch.tensor(seg, dtype=torch.long)
    score = torch.randn(seg.shape[0], generator=torch.Generator().manual_seed(seed)) * scale
    weight = segment_softmax(score, seg, 5)
    assert torch.isfinite(weight).all() and (weight >= 0).all()
    total = segment_sum(weight, seg, 5)
    present = torch.bincount(seg, minlength=5) > 0
    assert torch.allclose(total[present], torch.ones(int(present.sum())), atol=1e-5)
    assert torch.all(total[~present] == 0)
    # equals torch.softmax within every segment
    for s in seg.unique():
        assert torch.allclose(weight[seg == s], torch.softmax(score[seg == s], 0), atol=1e-6)


@HYPOTHESIS
@given(b=st.integers(1, 4), n=st.integers(1, 6), d=st.integers(1, 5), zero_row=st.booleans(),
       scale=st.sampled_from([1.0, 12.0]), seed=st.integers(0, 100))
def test_cosine_logits_equals_autograd_of_normalised_table(b, n, d, zero_row, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(b, d, dtype=torch.float64, generator=generator)
    weight = torch.randn(n, d, dtype=torch.float64, generator=generator)
    if zero_row:                                     # a floored norm: F.normalize gives a zero row
        weight[0] = 0.0
    upstream = torch.randn(b, n, dtype=torch.float64, generator=generator)
    results = []
    for logits_of in (cosine_logits, lambda q, w, s: s * q @ torch.nn.functional.normalize(w, dim=1).t()):
        q, w = query.clone().requires_grad_(), weight.clone().requires_grad_()
        logits = logits_of(q, w, scale)
        (logits * upstream).sum().backward()
        results.append((logits.detach(), q.grad, w.grad))
    for ours, reference in zip(*results):
        assert torch.allclose(ours, reference, atol=1e-10)


def test_cosine_logits_worked_case_and_checks():
    # rows (3, 4) and (0, 2) have norms 5 and 2: cosines of (1, 0) are 0.6 and 0
    logits = cosine_logits(torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 4.0], [0.0, 2.0]]), scale=10.0)
    assert torch.allclose(logits, torch.tensor([[6.0, 0.0]]))
    query = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q, w: cosine_logits(q, w, 7.0), (query, weight))
    with pytest.raises(ValueError, match=r"query \(B, d\) and weight \(n, d\); got shapes \(2, 3\) and \(4, 2\)"):
        cosine_logits(torch.zeros(2, 3), torch.zeros(4, 2))


@HYPOTHESIS
@given(b=st.integers(1, 4), n=st.integers(1, 6), d=st.integers(1, 5),
       normalize=st.booleans(), scale=st.sampled_from([1.0, 12.0]), eps=st.sampled_from([0.0, 0.3]),
       upstream=st.floats(-3, 3), with_bias=st.booleans(), n_sparse=st.sampled_from([0, 1, 7]),
       seed=st.integers(0, 100))
def test_softmax_cross_entropy_equals_torch_on_the_logits(b, n, d, normalize, scale, eps, upstream, with_bias,
                                                          n_sparse, seed):
    # (a zero row of the table is left to the cosine_logits test: its floored norm multiplies the
    # rounding of p - t by 1e12 in either implementation, so the two cannot agree there)
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(b, d, dtype=torch.float64, generator=generator)
    weight = torch.randn(n, d, dtype=torch.float64, generator=generator)
    target = torch.randint(0, n, (b,), generator=generator)
    with_bias = with_bias and not normalize                           # a linear output layer's bias
    bias0 = torch.randn(n, dtype=torch.float64, generator=generator) if with_bias else torch.zeros(n)
    # sparse terms (repeated pairs among them when n_sparse is 7): added to the logits after the scale
    rows, columns = torch.randint(0, b, (n_sparse,), generator=generator), torch.randint(0, n, (n_sparse,),
                                                                                         generator=generator)
    values0 = torch.randn(n_sparse, dtype=torch.float64, generator=generator)
    results = []
    for fused in (True, False):
        q, w, c = query.clone().requires_grad_(), weight.clone().requires_grad_(), bias0.clone().requires_grad_()
        v = values0.clone().requires_grad_()
        factors = ItemLogits(q, w, scale, normalize, c if with_bias else None,
                             (rows, columns, v) if n_sparse else None)
        if fused:
            loss = softmax_cross_entropy(factors, target, eps)
        else:  # torch's cross-entropy on the logits, the table normalised by autograd
            logits = scale * q @ torch.nn.functional.normalize(w, dim=1).t() if normalize else q @ w.t()
            logits = logits + c if with_bias else logits
            for j in range(n_sparse):  # one term at a time, by hand
                one_hot = torch.nn.functional.one_hot(rows[j] * n + columns[j], b * n).view(b, n)
                logits = logits + v[j] * one_hot
            loss = torch.nn.functional.cross_entropy(logits, target, label_smoothing=eps)
        (loss * upstream).backward()
        results.append((loss.detach(), q.grad, w.grad, c.grad if with_bias else None,
                        v.grad if n_sparse else None))
    for ours, reference in zip(*results):
        assert (ours is None and reference is None) or torch.allclose(ours, reference, atol=1e-10)


@HYPOTHESIS
@given(b=st.integers(1, 5), n=st.integers(1, 6), d=st.integers(1, 4), upstream=st.floats(-3, 3),
       with_bias=st.booleans(), n_masked=st.sampled_from([0, 1, 4]), seed=st.integers(0, 100))
def test_softmax_cross_entropy_with_target_logits_is_the_softmax_with_the_target_prepended(
        b, n, d, upstream, with_bias, n_masked, seed):
    # the sampled softmax: each row's positive (its own logit) against n shared columns, some of them
    # masked with a -inf sparse term (a negative equal to the positive)
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(b, d, dtype=torch.float64, generator=generator)
    weight = torch.randn(n, d, dtype=torch.float64, generator=generator)
    own0 = torch.randn(b, dtype=torch.float64, generator=generator)
    bias0 = torch.randn(n, dtype=torch.float64, generator=generator)
    cells = torch.randperm(b * n, generator=generator)[:n_masked]
    rows, columns = cells // n, cells % n
    results = []
    for fused in (True, False):
        q, w, c = query.clone().requires_grad_(), weight.clone().requires_grad_(), bias0.clone().requires_grad_()
        own = own0.clone().requires_grad_()
        if fused:
            mask = (rows, columns, torch.full(rows.shape, float("-inf"), dtype=torch.float64))
            loss = softmax_cross_entropy(ItemLogits(q, w, bias=c if with_bias else None, sparse=mask),
                                         target_logits=own)
        else:
            logits = q @ w.t() + c if with_bias else q @ w.t()
            logits = logits.index_put((rows, columns), torch.tensor(float("-inf"), dtype=torch.float64))
            loss = torch.nn.functional.cross_entropy(torch.cat([own.unsqueeze(1), logits], dim=1),
                                                     torch.zeros(b, dtype=torch.long))
        (loss * upstream).backward()
        results.append((loss.detach(), q.grad, w.grad, c.grad if with_bias else None, own.grad))
    for ours, reference in zip(*results):
        assert (ours is None and reference is None) or torch.allclose(ours, reference, atol=1e-10)


def test_softmax_cross_entropy_target_logits_worked_case_and_checks():
    # the own logit ln 2 against columns (0, ln 3, masked): probabilities 2/6, 1/6, 3/6, 0; loss ln 3
    q, w = torch.tensor([[1.0]]), torch.tensor([[0.0], [float(torch.log(torch.tensor(3.0)))], [5.0]])
    w.requires_grad_()
    own = torch.log(torch.tensor([2.0])).requires_grad_()
    mask = (torch.tensor([0]), torch.tensor([2]), torch.tensor([float("-inf")]))
    loss = softmax_cross_entropy(ItemLogits(q, w, sparse=mask), target_logits=own)
    loss.backward()
    assert torch.isclose(loss, torch.log(torch.tensor(3.0)))
    assert torch.allclose(own.grad, torch.tensor([2 / 6 - 1]))
    assert torch.allclose(w.grad, torch.tensor([[1 / 6], [3 / 6], [0.0]]))   # the masked column: no gradient
    factors = ItemLogits(torch.zeros(1, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="exactly one of target and target_logits"):
        softmax_cross_entropy(factors)
    with pytest.raises(ValueError, match="exactly one of target and target_logits"):
        softmax_cross_entropy(factors, torch.tensor([0]), target_logits=torch.zeros(1))
    with pytest.raises(ValueError, match="target_logits needs ItemLogits and no label_smoothing"):
        softmax_cross_entropy(factors, label_smoothing=0.1, target_logits=torch.zeros(1))
    with pytest.raises(ValueError, match="target_logits needs ItemLogits"):
        softmax_cross_entropy(torch.zeros(1, 2), target_logits=torch.zeros(1))
    with pytest.raises(ValueError, match="target_logits must have size 1 in dimension 0"):
        softmax_cross_entropy(factors, target_logits=torch.zeros(2))


def test_softmax_cross_entropy_worked_case_and_checks():
    # logits (ln 3, 0) -> softmax (3/4, 1/4): the loss of target 0 is ln(4/3), its gradient (-1/4, 1/4)
    q = torch.tensor([[1.0]], requires_grad=True)
    w = torch.tensor([[float(torch.log(torch.tensor(3.0)))], [0.0]], requires_grad=True)
    loss = SoftmaxCrossEntropyLoss()(ItemLogits(q, w), torch.tensor([0]))
    loss.backward()
    assert torch.isclose(loss, torch.log(torch.tensor(4 / 3)))
    assert torch.allclose(w.grad, torch.tensor([[-0.25], [0.25]]))   # d loss / d w_i = (p_i - t_i) * q
    # far-apart logits: the loss is the gap itself, never inf (no probability is rounded to 0 first)
    far = softmax_cross_entropy(ItemLogits(torch.tensor([[1.0]]), torch.tensor([[1000.0], [0.0]])), torch.tensor([1]))
    assert float(far) == 1000.0
    # the loss modules take the factors or the logits alike
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    factors = ItemLogits(torch.tensor([[1.0]]), torch.tensor([[2.0], [0.0], [-1.0]]))
    for loss_fn in (SoftmaxCrossEntropyLoss(0.2), SoftmaxBCELoss()):
        assert torch.isclose(loss_fn(factors, torch.tensor([1])), loss_fn(logits, torch.tensor([1])))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 3\) \(class indices, 3 rows in weight\)"):
        softmax_cross_entropy(factors, torch.tensor([3]))
    with pytest.raises(ValueError, match=r"weight must have size 1 in dimension 1"):
        softmax_cross_entropy(ItemLogits(torch.zeros(1, 1), torch.zeros(3, 2)), torch.tensor([0]))
    with pytest.raises(ValueError, match="a bias needs normalize=False"):
        softmax_cross_entropy(ItemLogits(torch.zeros(1, 1), torch.ones(3, 1), 2.0, True, torch.zeros(3)),
                              torch.tensor([0]))
    with pytest.raises(ValueError, match=r"bias must have size 3 in dimension 0"):
        softmax_cross_entropy(ItemLogits(torch.zeros(1, 1), torch.ones(3, 1), bias=torch.zeros(2)), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\); got 1.0"):
        SoftmaxCrossEntropyLoss(1.0)
    # a sparse term raises one logit: (ln 3, 0) + (0, ln 3) is a tie, the loss ln 2
    q, w = torch.tensor([[1.0]]), torch.tensor([[float(torch.log(torch.tensor(3.0)))], [0.0]])
    tie = ItemLogits(q, w, sparse=(torch.tensor([0]), torch.tensor([1]), torch.log(torch.tensor([3.0]))))
    assert torch.isclose(softmax_cross_entropy(tie, torch.tensor([0])), torch.log(torch.tensor(2.0)))
    assert torch.allclose(tie.logits(), torch.log(torch.tensor([[3.0, 3.0]])))
    one, two, zero = torch.tensor([1]), torch.tensor([2]), torch.tensor([0])
    for sparse, message in [((one, zero, torch.zeros(1)), r"sparse rows must lie in \[0, 1\)"),
                            ((zero, two, torch.zeros(1)), r"sparse columns must lie in \[0, 2\)"),
                            ((zero, torch.tensor([0, 1]), torch.zeros(1)), "sparse columns must have size 1"),
                            ((zero, zero), r"must be \(rows, columns, values\); got 2")]:
        with pytest.raises(ValueError, match=message):
            softmax_cross_entropy(ItemLogits(q, w, sparse=sparse), torch.tensor([0]))
    # the backward reuses the softmax buffer: a second walk back fails loudly, never silently wrong
    q = torch.randn(2, 3, requires_grad=True)
    loss = softmax_cross_entropy(ItemLogits(q, torch.randn(4, 3)), torch.tensor([0, 1]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="inplace operation"):
        loss.backward()


def test_segment_mean_and_sum():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    seg = torch.tensor([0, 0, 2])
    assert torch.equal(segment_sum(x, seg, 3), torch.tensor([[4.0, 6.0], [0, 0], [5.0, 6.0]]))
    assert torch.equal(segment_mean(x, seg, 3), torch.tensor([[2.0, 3.0], [0, 0], [5.0, 6.0]]))


# --------------------------------------------------------------------------------------------
# GatedGraphNet
# --------------------------------------------------------------------------------------------
def test_ggnn_step_matches_dense_reference():
    # 3-node graph from session [0, 1, 2, 1]: edges 0->1, 1->2, 2->1
    batch = make_batch([[0, 1, 2, 1]])
    a_out = torch.tensor([[0, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=torch.float32)
    a_in = torch.tensor([[0, 0, 0], [.5, 0, .5], [0, 1, 0]], dtype=torch.float32)
    torch.manual_seed(0)
    net = GatedGraphNet(4, n_steps=2)
    h0 = torch.randn(3, 4)
    out = net(h0, batch["edge_src"], batch["edge_dst"], batch["edge_weight_out"], batch["edge_weight_in"])
    gru = torch.nn.GRUCell(8, 4)
    gru.load_state_dict(net.gru.state_dict())
    h = h0
    for _ in range(2):
        a = torch.cat([a_in @ (h @ net.linear_in.weight.t()) + net.bias_in,
                       a_out @ (h @ net.linear_out.weight.t()) + net.bias_out], dim=1)
        h = gru(a, h)
    assert out.shape == (3, 4)
    assert torch.allclose(out, h, atol=1e-6)


def test_grucell_is_srgnn_gate_update():
    # SR-GNN eqs. 2-5: z, r gates, candidate with r applied to the hidden term, (1 - z) n + z h
    torch.manual_seed(0)
    gru = torch.nn.GRUCell(4, 2)
    a, h = torch.randn(3, 4), torch.randn(3, 2)
    gi = a @ gru.weight_ih.t() + gru.bias_ih
    gh = h @ gru.weight_hh.t() + gru.bias_hh
    (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.chunk(3, 1), gh.chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    assert torch.allclose(gru(a, h), (1 - z) * n + z * h, atol=1e-6)


def test_ggnn_zero_steps_and_empty_graph():
    net = GatedGraphNet(3, n_steps=0)
    h = torch.randn(2, 3)
    e = torch.zeros(0, dtype=torch.long)
    w = torch.zeros(0)
    assert torch.equal(net(h, e, e, w, w), h)
    assert GatedGraphNet(3)(torch.zeros(0, 3), e, e, w, w).shape == (0, 3)


# --------------------------------------------------------------------------------------------
# DeepFM
# --------------------------------------------------------------------------------------------
def test_deepfm_matches_explicit_pairwise_reference():
    torch.manual_seed(0)
    fm = DeepFM([3, 4, 2], embedding_dim=3, out_dim=5, hidden_layers=(6,))
    for p in (fm.first_order.weight, fm.bias):
        torch.nn.init.normal_(p)
    x = torch.tensor([[0, 3, 1], [2, 0, 0]])
    offsets = torch.tensor([0, 3, 7])
    e = fm.embedding.weight[x + offsets]                     # (B, F, k)
    pair = sum(e[:, i] * e[:, j] for i in range(3) for j in range(i + 1, 3))
    ref_fm = fm.bias + fm.first_order.weight[x + offsets].sum(1) + pair @ fm.interaction.weight.t()
    ref = torch.sigmoid(ref_fm + fm.dnn(e.reshape(2, -1)))
    out = fm(x)
    assert out.shape == (2, 5) and torch.all((out > 0) & (out < 1))
    assert torch.allclose(out, ref, atol=1e-6)


# --------------------------------------------------------------------------------------------
# SessionReadout
# --------------------------------------------------------------------------------------------
def test_mean_readout_is_mean_over_click_positions():
    batch = make_batch([[0, 1, 0], [2]])                     # nodes: (0, 1) and (2,)
    torch.manual_seed(0)
    readout = SessionReadout(4, readout="mean")
    h = torch.randn(3, 4)
    s_h, weight = readout(h, batch["alias"], batch["alias_offsets"], batch["last_node"], return_attention=True)
    s_g = torch.stack([(2 * h[0] + h[1]) / 3, h[2]])        # item 0 clicked twice counts twice
    s_c = torch.stack([h[0], h[2]])
    assert torch.allclose(weight, torch.tensor([1 / 3, 1 / 3, 1 / 3, 1.0]))
    assert torch.allclose(s_h, readout.transform(torch.cat([s_c, s_g], 1)), atol=1e-6)


@pytest.mark.parametrize("readout", ["local", "user", "hybrid"])
def test_attention_weights_sum_to_one_per_session(readout):
    batch = make_batch([[0, 1, 2, 1], [3], [4, 5]])
    torch.manual_seed(0)
    module = SessionReadout(4, user_dim=2, readout=readout)
    h, user = torch.randn(6, 4), torch.rand(3, 2)
    _, weight = module(h, batch["alias"], batch["alias_offsets"], batch["last_node"], user, return_attention=True)
    click_graph = batch["node_graph"][batch["alias"]]
    assert torch.allclose(segment_sum(weight, click_graph, 3), torch.ones(3), atol=1e-6)


def test_local_readout_without_softmax_is_srgnn():
    sessions = [[0, 1, 2, 1], [3, 4]]
    batch = make_batch(sessions)
    torch.manual_seed(0)
    module = SessionReadout(4, readout="local", attention_softmax=False)
    h = torch.randn(5, 4)
    out = module(h, batch["alias"], batch["alias_offsets"], batch["last_node"])
    for b in range(2):                                       # SR-GNN's per-session formula
        lo, hi = batch["alias_offsets"][b], batch["alias_offsets"][b + 1]
        seq = h[batch["alias"][lo:hi]]
        ht = h[batch["last_node"][b]]
        alpha = module.score(torch.sigmoid(module.query(ht) + module.key(seq)))   # (n, 1), no softmax
        ref = module.transform(torch.cat([ht, (alpha * seq).sum(0)]))
        assert torch.allclose(out[b], ref, atol=1e-6)


def test_readout_needs_user_dim_for_user_variants():
    for readout in ("user", "hybrid"):
        with pytest.raises(ValueError, match="needs user_dim > 0"):
            SessionReadout(4, readout=readout)
    with pytest.raises(ValueError, match="readout must be one of"):
        SessionReadout(4, readout="max")
    with pytest.raises(ValueError, match="needs user features"):
        UberGNN(5, readout="hybrid")


# --------------------------------------------------------------------------------------------
# UberGNN
# --------------------------------------------------------------------------------------------
sessions_strategy = st.lists(st.lists(st.integers(0, 6), min_size=0, max_size=6), min_size=1, max_size=4)


# SR-GNN's network ({}) and each session-graph technique; dropout is off in eval mode
SGNN_OPTIONS = (
    {},
    {"n_positions": 3},
    {"star_node": True},
    {"highway": True},
    {"star_node": True, "highway": True, "n_positions": 2, "n_steps": 2},
)


@settings(max_examples=50, deadline=None)
@given(sessions=sessions_strategy, readout=st.sampled_from(READOUTS), normalize=st.booleans(),
       options=st.sampled_from(SGNN_OPTIONS))
def test_batch_equals_single_session_forwards(sessions, readout, normalize, options):
    net = make_net(readout, normalize=normalize, embedding_dropout=0.3, **options).eval()
    user_fields = user_fields_for(len(sessions))
    logits = net(**forward_args(make_batch(sessions), user_fields))
    assert logits.shape == (len(sessions), 7) and torch.isfinite(logits).all()
    for b, session in enumerate(sessions):
        single = net(**forward_args(make_batch([session]), user_fields[b:b + 1]))
        assert torch.allclose(logits[b:b + 1], single, atol=1e-5)
        if not session:
            assert torch.all(single == 0)


@pytest.mark.parametrize("readout, users", [(r, True) for r in READOUTS] + [("mean", False), ("local", False)])
def test_gradients_reach_every_parameter(readout, users):
    net = make_net(readout, users=users)
    sessions = [[0, 1, 2, 1], [3, 4, 3], [5, 6], [2, 0, 5, 6]]
    batch = make_batch(sessions)
    logits = net(**forward_args(batch, user_fields_for(4) if users else None))
    torch.nn.functional.cross_entropy(logits, torch.tensor([3, 5, 1, 4])).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_empty_sessions_give_zero_logits():
    net = make_net("hybrid")
    batch = make_batch([[0, 1], [], [2]])
    logits = net(**forward_args(batch, user_fields_for(3)))
    assert torch.isfinite(logits).all()
    assert torch.all(logits[1] == 0) and logits[0].abs().sum() > 0
    batch = make_batch([[], []])                             # no nodes at all
    assert torch.equal(net(**forward_args(batch, user_fields_for(2))), torch.zeros(2, 7))
    logits = net(**forward_args(make_batch([[0, 1], []]), user_fields_for(2)))
    logits.sum().backward()                                  # no NaN gradients either
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_session_vectors_and_normalize():
    batch = make_batch([[0, 1, 2], [3, 3, 4]])
    for normalize in (False, True):
        net = make_net("local", users=False, normalize=normalize, scale=10.0)
        s = net.session_vectors(**batch)
        logits = net(**batch)
        assert s.shape == (2, 6)
        assert torch.allclose(logits, net.logit_scale * s @ net.item_embeddings().t(), atol=1e-6)
        if normalize:
            assert torch.allclose(s.norm(dim=1), torch.ones(2), atol=1e-5)
            assert torch.allclose(net.item_embeddings().norm(dim=1), torch.ones(7), atol=1e-5)
            assert logits.abs().max() <= 10.0 + 1e-4


@pytest.mark.parametrize("init", ["uniform", "normal"])
def test_deterministic_under_manual_seed(init):
    batch = make_batch([[0, 1, 2, 1], [3, 4]])
    outs = [make_net("hybrid", init=init, init_std=0.05)(**forward_args(batch, user_fields_for(2)))
            for _ in range(2)]
    assert torch.equal(outs[0], outs[1])
    net = make_net("local", users=False, init=init, init_std=0.05)
    weight = net.embedding.weight
    if init == "uniform":
        assert weight.abs().max() <= 1 / 6 ** 0.5
    else:
        assert 0.02 < weight.std() < 0.1


def test_repr_mentions_sizes():
    text = repr(make_net("hybrid"))
    assert "n_items=7, hidden_size=6, readout='hybrid'" in text
    assert "field_sizes=[3, 4]" in text and "n_steps=1" in text


# --------------------------------------------------------------------------------------------
# errors name the tensor and the sizes
# --------------------------------------------------------------------------------------------
def _bad(batch, **changes):
    return {**batch, **changes}


@pytest.mark.parametrize("change, pattern", [
    (dict(edge_weight_out=torch.ones(5)), r"edge_weight_out must have size 3 .*got shape \(5,\)"),
    (dict(edge_dst=torch.tensor([0, 1])), r"edge_dst must have size 3 .*got shape \(2,\)"),
    (dict(items=torch.tensor([0, 1, 9])), r"items must lie in \[0, 7\).*\[0, 9\]"),
    (dict(items=torch.tensor([0.0, 1.0, 2.0])), r"items must hold integer indices.*float32"),
    (dict(node_graph=torch.tensor([0, 0])), r"node_graph must have size 3 .*got shape \(2,\)"),
    (dict(edge_src=torch.tensor([0, 1, 3])), r"edge_src must lie in \[0, 3\).*\[0, 3\]"),
    (dict(last_node=torch.tensor([4])), r"last_node must lie in \[-1, 3\).*\[4, 4\]"),
    (dict(alias_offsets=torch.tensor([0, 4, 4])), r"alias_offsets must have size 2 .*got shape \(3,\)"),
    (dict(alias_offsets=torch.tensor([0, 3])), r"alias_offsets must be non-decreasing from 0 to len\(alias\) = 4"),
    (dict(alias=torch.tensor([0, 1, 2, 5])), r"alias must lie in \[0, 3\).*\[0, 5\]"),
    (dict(node_offsets=torch.tensor([0])), r"node_offsets must have size 2 .*got shape \(1,\)"),
])
def test_forward_value_errors(change, pattern):
    net = make_net("local", users=False)
    batch = make_batch([[0, 1, 2, 1]])
    with pytest.raises(ValueError, match=pattern):
        net(**_bad(batch, **change))


def test_user_field_errors():
    net = make_net("hybrid")
    batch = make_batch([[0, 1], [2]])
    with pytest.raises(ValueError, match=r"user_fields is required.*field_sizes=\[3, 4\]"):
        net(**batch)
    with pytest.raises(ValueError, match=r"user_fields must have size 2 in dimension 0.*got shape \(3, 2\)"):
        net(**forward_args(batch, user_fields_for(3)))
    with pytest.raises(ValueError, match=r"user_fields must have size 2 in dimension 1.*got shape \(2, 3\)"):
        net(**forward_args(batch, torch.zeros(2, 3, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"user_fields\[:, 1\] must lie in \[0, 4\).*got 4 in row 0"):
        net(**forward_args(batch, torch.tensor([[0, 4], [1, 1]])))
    with pytest.raises(ValueError, match=r"user_fields must be None.*field_sizes=None"):
        make_net("local", users=False)(**forward_args(batch, user_fields_for(2)))
    with pytest.raises(ValueError, match=r"h must have size 6 in dimension 1 \(hidden_size\).*\(3, 4\)"):
        GatedGraphNet(6)(torch.zeros(3, 4), *[batch[k] for k in
                                             ("edge_src", "edge_dst", "edge_weight_out", "edge_weight_in")])
    with pytest.raises(ValueError, match=r"user must have size 3 in dimension 1 \(user_dim\).*\(2, 2\)"):
        SessionReadout(6, user_dim=3, readout="user")(torch.zeros(3, 6), batch["alias"], batch["alias_offsets"],
                                                     batch["last_node"], torch.zeros(2, 2))


# --------------------------------------------------------------------------------------------
# session-graph techniques: SGNN-HN's star node and highway gate, reversed positions, dropout
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("readout", READOUTS)
def test_gradients_reach_every_parameter_with_sgnn_options(readout):
    net = make_net(readout, star_node=True, highway=True, n_positions=3, embedding_dropout=0.1, n_steps=2)
    batch = make_batch([[0, 1, 2, 1], [3, 4, 3], [5, 6], [2, 0, 5, 6]])
    logits = net(**forward_args(batch, user_fields_for(4)))
    torch.nn.functional.cross_entropy(logits, torch.tensor([3, 5, 1, 4])).backward()
    for name, p in net.named_parameters():
        if readout == "mean" and name.startswith("session_readout.position"):
            continue  # the mean readout has no attention to put positions in
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_star_node_matches_per_session_reference():
    torch.manual_seed(0)
    star = StarNode(3)
    h = torch.randn(5, 3)
    node_graph = torch.tensor([0, 0, 0, 1, 1])
    s0 = StarNode.init(h, node_graph, 2)
    assert torch.allclose(s0, torch.stack([h[:3].mean(0), h[3:].mean(0)]))
    new_h, new_s = star(h, s0, node_graph)
    for b, rows in enumerate([slice(0, 3), slice(3, 5)]):
        hb, sb = h[rows], s0[b]
        beta = torch.sigmoid(star.gate_query(hb) @ star.gate_key(sb) / 3 ** 0.5).unsqueeze(1)
        expected_h = (1 - beta) * hb + beta * sb
        assert torch.allclose(new_h[rows], expected_h, atol=1e-6)
        assert torch.allclose(new_s[b], expected_h.mean(0), atol=1e-6)


# GCE-GNN's global item graph
GLOBAL_NEIGHBOURS = [[1, 2, -1], [0, -1, -1], [0, 1, 3], [-1, -1, -1], [2, -1, -1], [-1, -1, -1],
                     [-1, -1, -1]]
GLOBAL_WEIGHTS = [[4.0, 2.0, 0], [4.0, 0, 0], [2.0, 1.0, 1.0], [0, 0, 0], [3.0, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_global_item_graph_matches_per_node_reference():
    torch.manual_seed(0)
    layer = GlobalItemGraph(3, GLOBAL_NEIGHBOURS, GLOBAL_WEIGHTS, dropout=0.0).eval()
    table = torch.randn(7, 3)
    items = torch.tensor([0, 2, 3])
    h, session = table[items], torch.randn(3, 3)
    out = layer(items, h, session, table)
    for n, item in enumerate(items.tolist()):
        row = [j for j in GLOBAL_NEIGHBOURS[item] if j >= 0]
        w = torch.tensor(GLOBAL_WEIGHTS[item][:len(row)]) / max(GLOBAL_WEIGHTS[item][0], 1e-12)
        if row:  # pi_j = softmax(q . LeakyReLU(W1 [s * v_j; w_j])), a = sum_j pi_j v_j
            v = table[row]
            z = torch.cat([session[n] * v, w.unsqueeze(1)], dim=1) @ layer.attention.weight.T
            pi = torch.softmax(torch.nn.functional.leaky_relu(z, 0.2) @ layer.score.weight.T, dim=0)
            a = (pi * v).sum(0)
        else:  # no neighbour: the aggregate is zero
            a = torch.zeros(3)
        expected = torch.relu(layer.combine.weight @ torch.cat([h[n], a]))
        assert torch.allclose(out[n], expected, atol=1e-6), item
    assert torch.allclose(layer.weights[2], torch.tensor([1.0, 0.5, 0.5]))  # scaled by the row's largest


def test_global_item_graph_in_the_network_trains_and_saves_its_graph():
    net = make_net("local", users=False, normalize=True, star_node=True, highway=True,
                   global_neighbours=GLOBAL_NEIGHBOURS, global_weights=GLOBAL_WEIGHTS)
    batch = make_batch([[0, 1, 2, 1], [3, 4, 3], [5, 6]])
    logits = net(**forward_args(batch))
    torch.nn.functional.cross_entropy(logits, torch.tensor([3, 5, 1])).backward()
    for name, p in net.global_graph.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    state = net.state_dict()
    assert torch.equal(state["global_graph.neighbours"], torch.tensor(GLOBAL_NEIGHBOURS))
    # without the global graph the same network gives other logits (the graph is used)
    plain = make_net("local", users=False, normalize=True, star_node=True, highway=True)
    plain.load_state_dict({k: v for k, v in state.items() if not k.startswith("global_graph.")})
    net.eval(), plain.eval()
    assert not torch.allclose(net(**forward_args(batch)), plain(**forward_args(batch)))


@pytest.mark.parametrize("kwargs, message", [
    ({"global_neighbours": GLOBAL_NEIGHBOURS}, "global_neighbours and global_weights go together"),
    ({"global_neighbours": GLOBAL_NEIGHBOURS[:3], "global_weights": GLOBAL_WEIGHTS[:3]},
     r"one row per item \(7\)"),
    ({"global_neighbours": [[1, 9]] * 7, "global_weights": [[1.0, 1.0]] * 7}, "neighbours"),
    ({"global_neighbours": [[1, -1]] * 7, "global_weights": [[1.0, 1.0]] * 7}, "0 at the padding"),
    ({"global_neighbours": [[1, 2]] * 7, "global_weights": [[1.0]] * 7}, "tables of one shape"),
])
def test_global_item_graph_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_net("local", users=False, **kwargs)


def test_highway_gate_interpolates():
    torch.manual_seed(0)
    highway = Highway(4)
    h0, h = torch.randn(3, 4), torch.randn(3, 4)
    g = torch.sigmoid(highway.gate(torch.cat([h0, h], dim=1)))
    assert torch.allclose(highway(h0, h), g * h0 + (1 - g) * h)
    with torch.no_grad():
        highway.gate.weight.zero_()
        highway.gate.bias.fill_(50.0)  # gate open: the item vectors pass unchanged
    assert torch.allclose(highway(h0, h), h0)


def test_reversed_positions_count_from_the_last_click_and_are_capped():
    alias_offsets = torch.tensor([0, 4, 5, 5, 7])  # sessions of 4, 1, 0 and 2 clicks
    session, position = click_positions(alias_offsets, 7, cap=2)
    assert session.tolist() == [0, 0, 0, 0, 1, 3, 3]
    assert position.tolist() == [2, 2, 1, 0, 0, 1, 0]


def test_zero_position_embeddings_change_nothing():
    h = torch.randn(4, 6)
    alias, alias_offsets = torch.tensor([0, 1, 2, 1, 3]), torch.tensor([0, 4, 5])
    last_node = torch.tensor([1, 3])
    torch.manual_seed(0)
    plain = SessionReadout(6, readout="local")
    torch.manual_seed(0)
    with_positions = SessionReadout(6, readout="local", n_positions=4)
    with_positions.load_state_dict({**plain.state_dict(), "position.weight": torch.zeros(4, 6)})
    assert torch.allclose(plain(h, alias, alias_offsets, last_node), with_positions(h, alias, alias_offsets, last_node))
    with torch.no_grad():
        with_positions.position.weight.normal_()
    assert not torch.allclose(plain(h, alias, alias_offsets, last_node),
                              with_positions(h, alias, alias_offsets, last_node))


def test_star_readout_and_option_errors():
    readout = SessionReadout(4, readout="local", star=True)
    h, alias, offsets, last = torch.randn(2, 4), torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([1])
    with pytest.raises(ValueError, match="star is required"):
        readout(h, alias, offsets, last)
    with pytest.raises(ValueError, match=r"star must have size 1 in dimension 0"):
        readout(h, alias, offsets, last, star=torch.randn(2, 4))
    with pytest.raises(ValueError, match="star must be None"):
        SessionReadout(4, readout="local")(h, alias, offsets, last, star=torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"embedding_dropout must be in \[0, 1\).*got embedding_dropout=1"):
        UberGNN(n_items=3, hidden_size=4, embedding_dropout=1.0)
    with pytest.raises(ValueError, match=r"n_positions >= 0.*n_positions=-1"):
        SessionReadout(4, n_positions=-1)


@settings(max_examples=25, deadline=None)
@given(sessions=sessions_strategy, normalize=st.booleans(), n_positions=st.sampled_from([0, 1, 3]))
def test_repeat_bias_adds_one_offset_per_click_to_its_items_logit(sessions, normalize, n_positions):
    """Each click adds r[min(position from the end, cap)] + g . s_h (times the scale) to its item's logit; a
    repeated item gets one offset per click. Checked against a loop over the clicks of the plain network's
    logits."""
    plain = make_net("local", users=False, normalize=normalize, n_positions=n_positions).eval()
    net = make_net("local", users=False, normalize=normalize, n_positions=n_positions,
                   repeat_bias=True).eval()
    batch = forward_args(make_batch(sessions))
    assert torch.equal(net(**batch), plain(**batch))                # the offsets start at zero
    with torch.no_grad():
        net.repeat_bias.copy_(torch.arange(1.0, net.repeat_bias.shape[0] + 1))
        net.repeat_gate.normal_()
    shift = net.session_vectors(**batch) @ net.repeat_gate
    expected = plain(**batch).clone()
    for b, session in enumerate(sessions):
        for j, item in enumerate(session):
            position = min(len(session) - 1 - j, max(n_positions, 1) - 1)
            expected[b, item] += net.logit_scale * (position + 1.0 + shift[b])
    assert torch.allclose(net(**batch), expected, atol=1e-5)
    net.train()
    loss = softmax_cross_entropy(net.item_logits(**batch), torch.zeros(len(sessions), dtype=torch.long))
    loss.backward()
    for p in (net.repeat_bias, net.repeat_gate):
        assert p.grad is not None and torch.isfinite(p.grad).all()


def test_embedding_dropout_acts_in_training_only():
    net = make_net("local", users=False, embedding_dropout=0.5)
    batch = make_batch([[0, 1, 2, 1], [3, 4]])
    net.train()
    torch.manual_seed(1)
    a = net(**batch)
    torch.manual_seed(2)
    b = net(**batch)
    assert not torch.allclose(a, b)
    net.eval()
    assert torch.equal(net(**batch), net(**batch))
