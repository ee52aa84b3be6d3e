"""Torch side of the disentangled GNN: DisentangledConv routing, LightGCN propagation, losses, graphs."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn.graphs import build_bipartite_graph
from sklearn_ubergnn.nn import (
    BehaviorHeads,
    BehaviorMLP,
    BPRLoss,
    DisentangledConv,
    DisentangledGraphNet,
    DistillationLoss,
    HeadwiseDistillationLoss,
    LightGCN,
    SampledSoftmaxLoss,
    channel_distance_correlation,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _identity_conv(n_iterations=1, **kwargs):
    conv = DisentangledConv(4, 4, n_channels=2, n_iterations=n_iterations, **kwargs)
    with torch.no_grad():
        conv.linear.weight.copy_(torch.eye(4))
        conv.linear.bias.zero_()
    return conv


# Path graph 0 - 1 - 2, both directions; 2 channels of 2 dimensions each.
X3 = torch.tensor([[1.0, 0.0, 0.0, 1.0],    # node 0: channel 1 = (1, 0), channel 2 = (0, 1)
                   [1.0, 0.0, 1.0, 0.0],    # node 1: (1, 0), (1, 0)
                   [0.0, 1.0, 0.0, 1.0]])   # node 2: (0, 1), (0, 1)
SRC3 = torch.tensor([1, 0, 2, 1])
DST3 = torch.tensor([0, 1, 1, 2])


def test_one_routing_iteration_by_hand():
    # Edge 1 -> 0: channel similarities (1, 0) . (1, 0) = 1 and (1, 0) . (0, 1) = 0, so
    # p = softmax(1, 0) = (e / (e + 1), 1 / (e + 1)) = (0.731059, 0.268941); same for 0 -> 1.
    # Edges 2 -> 1 and 1 -> 2: similarities (0, 0), p = (0.5, 0.5).
    a, b = math.e / (math.e + 1), 1 / (math.e + 1)
    expected_p = torch.tensor([[a, b], [a, b], [0.5, 0.5], [0.5, 0.5]])
    # node 0: ch1 = unit((1, 0) + a (1, 0)) = (1, 0); ch2 = unit((0, 1) + b (1, 0)) = (b, 1) / sqrt(1 + b^2)
    # node 1: ch1 = unit((1, 0) + a (1, 0) + 0.5 (0, 1)) = (1 + a, 0.5) / sqrt((1 + a)^2 + 0.25)
    #         ch2 = unit((1, 0) + b (0, 1) + 0.5 (0, 1)) = (1, b + 0.5) / sqrt(1 + (b + 0.5)^2)
    # node 2: ch1 = ch2 = unit((0, 1) + 0.5 (1, 0)) = (0.5, 1) / sqrt(1.25)
    n0 = math.sqrt(1 + b * b)
    n1a, n1b = math.sqrt((1 + a) ** 2 + 0.25), math.sqrt(1 + (b + 0.5) ** 2)
    n2 = math.sqrt(1.25)
    expected = torch.tensor([
        [1.0, 0.0, b / n0, 1 / n0],
        [(1 + a) / n1a, 0.5 / n1a, 1 / n1b, (b + 0.5) / n1b],
        [0.5 / n2, 1 / n2, 0.5 / n2, 1 / n2],
    ])
    # The same numbers, rounded, as a sanity check of the closed forms above.
    torch.testing.assert_close(expected, torch.tensor([
        [1.000000, 0.000000, 0.259713, 0.965686],
        [0.960726, 0.277497, 0.792735, 0.609567],
        [0.447214, 0.894427, 0.447214, 0.894427],
    ]), atol=2e-6, rtol=0)
    out, p = _identity_conv()(X3, SRC3, DST3, return_routing=True)
    torch.testing.assert_close(p, expected_p, atol=1e-6, rtol=0)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_zero_iterations_is_the_normalised_projection():
    out = _identity_conv(n_iterations=0)(X3 * 3.0, SRC3, DST3)
    torch.testing.assert_close(out, X3)


def test_edge_weight_scales_messages():
    conv = _identity_conv()
    torch.testing.assert_close(conv(X3, SRC3, DST3, torch.ones(4)), conv(X3, SRC3, DST3))
    # Zero weights: no neighbour reaches anyone, every node keeps its own projection.
    torch.testing.assert_close(conv(X3, SRC3, DST3, torch.zeros(4)), X3)


def _random_graph(seed, n=12, e=40):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(n, (e,), generator=g)
    dst = torch.randint(n, (e,), generator=g)
    return torch.randn(n, 8, generator=g), src, dst


@pytest.mark.parametrize("n_iterations", [0, 1, 3])
@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_channels_have_unit_norm(n_iterations, activation):
    torch.manual_seed(0)
    x, src, dst = _random_graph(0)
    conv = DisentangledConv(8, 12, n_channels=3, n_iterations=n_iterations, activation=activation)
    out = conv(x, src, dst)
    norms = out.view(len(x), 3, 4).norm(dim=2)
    if activation == "identity":
        torch.testing.assert_close(norms, torch.ones_like(norms))
    else:  # a channel whose ReLU projection is all zero, and has no neighbours, stays zero
        assert torch.all(((norms - 1).abs() < 1e-5) | (norms < 1e-6))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), attention=st.booleans())
def test_permuting_neighbours_and_nodes(seed, attention):
    torch.manual_seed(seed)
    x, src, dst = _random_graph(seed)
    conv = DisentangledConv(8, 8, n_channels=2, n_iterations=2, attention=attention)
    if attention:
        with torch.no_grad():
            conv.att_src.normal_()
            conv.att_dst.normal_()
    ref = conv(x, src, dst)
    g = torch.Generator().manual_seed(seed + 1)
    # Edge order does not matter.
    perm = torch.randperm(len(src), generator=g)
    torch.testing.assert_close(conv(x, src[perm], dst[perm]), ref, atol=1e-5, rtol=1e-5)
    # Relabelling the nodes permutes the output rows.
    relabel = torch.randperm(len(x), generator=g)
    inverse = torch.argsort(relabel)
    out = conv(x[relabel], inverse[src], inverse[dst])
    torch.testing.assert_close(out, ref[relabel], atol=1e-5, rtol=1e-5)


def test_uniform_attention_equals_no_attention():
    torch.manual_seed(0)
    x, src, dst = _random_graph(3)
    plain = DisentangledConv(8, 8, n_channels=2, n_iterations=2)
    attended = DisentangledConv(8, 8, n_channels=2, n_iterations=2, attention=True)
    attended.linear.load_state_dict(plain.linear.state_dict())  # attention vectors start at zero
    torch.testing.assert_close(attended(x, src, dst), plain(x, src, dst), atol=1e-6, rtol=1e-6)


def test_conv_errors_name_the_problem():
    with pytest.raises(ValueError, match="multiple of n_channels"):
        DisentangledConv(8, 10, n_channels=3)
    with pytest.raises(ValueError, match="n_iterations"):
        DisentangledConv(8, 8, n_channels=2, n_iterations=-1)
    conv = DisentangledConv(8, 8, n_channels=2)
    with pytest.raises(ValueError, match=r"x must have size 8 in dimension 1"):
        conv(torch.randn(3, 5), SRC3, DST3)
    with pytest.raises(ValueError, match=r"edge_src must lie in \[0, 3\)"):
        conv(torch.randn(3, 8), torch.tensor([5]), torch.tensor([0]))
    with pytest.raises(ValueError, match="edge_dst must have size 4"):
        conv(torch.randn(3, 8), SRC3, DST3[:3])


# ------------------------------------------------------------------------------------------------
# graphs
# ------------------------------------------------------------------------------------------------
def test_bipartite_graph_by_hand():
    g = build_bipartite_graph([0, 0, 1, 0, 2], [1, 0, 1, 1, 2], n_users=3, n_items=3, weight=[1, 2, 3, 4, 5])
    np.testing.assert_array_equal(g.user, [0, 0, 1, 2])
    np.testing.assert_array_equal(g.item, [0, 1, 1, 2])
    np.testing.assert_array_equal(g.weight, [2, 5, 3, 5])  # the repeated pair (0, 1) adds up
    np.testing.assert_array_equal(g.indptr, [0, 2, 3, 4])
    np.testing.assert_array_equal(g.item_degree(), [1, 2, 1])
    np.testing.assert_allclose(g.symmetric_weight(), [1 / math.sqrt(2), 1 / 2, 1 / math.sqrt(2), 1])
    f = g.to_torch()
    assert torch.all(f["edge_dst"][1:] >= f["edge_dst"][:-1]), "edges are sorted by destination"
    pairs = {(int(s), int(d)) for s, d in zip(f["edge_src"], f["edge_dst"])}
    assert pairs == {(0, 3), (0, 4), (1, 4), (2, 5), (3, 0), (4, 0), (4, 1), (5, 2)}
    rows, items = g.seen_pairs(np.array([2, -1, 0]))
    np.testing.assert_array_equal(rows, [0, 2, 2])
    np.testing.assert_array_equal(items, [2, 0, 1])


def test_bipartite_graph_errors():
    with pytest.raises(ValueError, match="at least one edge"):
        build_bipartite_graph([], [], 1, 1)
    with pytest.raises(ValueError, match=r"item codes must lie in \[0, 2\)"):
        build_bipartite_graph([0], [2], 1, 2)


# ------------------------------------------------------------------------------------------------
# networks and losses
# ------------------------------------------------------------------------------------------------
def test_lightgcn_equals_dense_reference():
    g = build_bipartite_graph([0, 0, 1, 2, 2], [0, 1, 1, 0, 2], n_users=3, n_items=3)
    f = g.to_torch(weight=g.symmetric_weight())
    torch.manual_seed(0)
    net = LightGCN(3, 3, embedding_dim=4, n_layers=2)
    A = torch.zeros(6, 6)
    A[f["edge_dst"], f["edge_src"]] = f["edge_weight"]
    e0 = net.embedding.weight.detach()
    expected = (e0 + A @ e0 + A @ A @ e0) / 3
    torch.testing.assert_close(net.embed(**f).detach(), expected)
    # The dense matrix is D^-1/2 A D^-1/2 of the bipartite adjacency.
    deg = torch.tensor([2.0, 1, 2, 2, 2, 1])
    adj = (A > 0).float()
    torch.testing.assert_close(A, adj / torch.sqrt(deg[:, None] * deg[None, :]))


@pytest.mark.parametrize("channel_score", ["sum", "routed"])
def test_graph_net_scores_and_shapes(channel_score):
    g = build_bipartite_graph([0, 0, 1, 2], [0, 1, 1, 2], n_users=3, n_items=3)
    torch.manual_seed(0)
    net = DisentangledGraphNet(3, 3, embedding_dim=8, n_channels=2, n_layers=1, channel_score=channel_score)
    users, items = torch.tensor([0, 1]), torch.tensor([1, 1])
    pos, neg, penalty = net(users, items, torch.arange(3), **g.to_torch())
    assert pos.shape == (2,) and neg.shape == (2, 3) and penalty.item() == 0
    assert torch.isinf(neg[:, 1]).all(), "the positive item is never its own negative"
    # Shared negatives and per-row negatives agree.
    _, neg_rows, _ = net(users, items, torch.tensor([[0, 2], [0, 2]]), **g.to_torch())
    torch.testing.assert_close(neg_rows, neg[:, [0, 2]])
    assert (pos.abs() <= 1 / net.temperature + 1e-5).all()


def test_losses_by_hand():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([[0.0, float("-inf")], [1.0, 1.0]])
    zero = torch.tensor(0.0)
    expected_bpr = (math.log1p(math.exp(-2)) + 0 + 2 * math.log1p(math.exp(1))) / 4
    assert BPRLoss()((pos, neg, zero)).item() == pytest.approx(expected_bpr, rel=1e-6)
    expected_softmax = (math.log(math.exp(2) + 1) - 2 + math.log(1 + 2 * math.e)) / 2
    assert SampledSoftmaxLoss()((pos, neg, zero)).item() == pytest.approx(expected_softmax, rel=1e-6)


def test_distillation_loss_and_student():
    logit = torch.tensor([0.0, 2.0])
    y = torch.tensor([[1.0, 0.5], [0.0, 0.9]])
    hard = torch.nn.functional.binary_cross_entropy_with_logits(logit, y[:, 0])
    soft = torch.nn.functional.binary_cross_entropy_with_logits(logit, y[:, 1])
    torch.testing.assert_close(DistillationLoss(0.0)(logit, y), hard)
    torch.testing.assert_close(DistillationLoss(2.0)(logit, y), hard + 2 * soft)
    assert BehaviorMLP(8, (4,))(torch.randn(5, 8)).shape == (5,)


def test_distillation_loss_unlabelled_rows_feed_the_soft_term_only():
    # Row 1 has no hard label: the hard term is row 0's alone, by hand: -log(sigmoid(0)) = log 2.
    logit = torch.tensor([0.0, 2.0, -1.0])
    y = torch.tensor([[1.0, 0.5], [float("nan"), 0.9], [0.0, 0.2]])
    hard = (math.log(2) + math.log(1 + math.exp(-1.0))) / 2
    soft = torch.nn.functional.binary_cross_entropy_with_logits(logit, y[:, 1]).item()
    assert DistillationLoss(0.0)(logit, y).item() == pytest.approx(hard, rel=1e-6)
    assert DistillationLoss(0.5)(logit, y).item() == pytest.approx(hard + 0.5 * soft, rel=1e-6)
    # No labelled row at all: hard term 0, still finite and differentiable.
    logit = torch.tensor([0.3, -0.2], requires_grad=True)
    out = DistillationLoss(1.0)(logit, torch.tensor([[float("nan"), 0.4], [float("nan"), 0.1]]))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(logit.grad).all()


@pytest.mark.parametrize("channel_score", ["sum", "routed"])
def test_graph_net_item_proba_and_routing(channel_score):
    g = build_bipartite_graph([0, 0, 1, 2], [0, 1, 1, 2], n_users=3, n_items=3)
    torch.manual_seed(0)
    net = DisentangledGraphNet(3, 3, embedding_dim=8, n_channels=2, n_layers=1, channel_score=channel_score,
                               temperature=0.2).eval()
    with torch.no_grad():
        h, p = net.embed_and_route(**g.to_torch())
        u, v = h[:3].double(), h[3:].double()
        proba = net.item_proba(u, v)
        # The model's probability is the softmax of the training logits of the same pairs.
        pos, neg, _ = net(torch.arange(3), torch.zeros(3, dtype=torch.long), torch.arange(3), **g.to_torch())
    logits = neg.double().clone()
    logits[:, 0] = pos.double()
    torch.testing.assert_close(proba, torch.softmax(logits, dim=1), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(h, net.embed(**g.to_torch()))
    assert p.shape == (2 * g.n_edges, 2) and torch.allclose(p.sum(dim=1), torch.ones(2 * g.n_edges))
    flat = DisentangledGraphNet(3, 3, embedding_dim=8, n_channels=2, n_layers=0)
    _, uniform = flat.embed_and_route(**g.to_torch())
    torch.testing.assert_close(uniform, torch.full((2 * g.n_edges, 2), 0.5))


def test_behavior_mlp_predict_proba():
    torch.manual_seed(0)
    mlp, x = BehaviorMLP(4, (3,)), torch.randn(5, 4)
    proba = mlp.predict_proba(x)
    assert proba.dtype == torch.float64 and proba.shape == (5, 2)
    torch.testing.assert_close(proba[:, 1], torch.sigmoid(mlp(x).double()))
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(5, dtype=torch.float64))


def test_residual_behavior_models_start_at_the_offset():
    # logit = offset + f(x), f's last layer at zero: untrained, the models return the offset itself,
    # and predict_proba its sigmoid, added in float64 (offset 0 -> 1/2, log 3 -> 3/4, -log 9 -> 1/10).
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    offset = torch.tensor([0.0, math.log(3.0), -math.log(9.0)], dtype=torch.float64)
    torch.manual_seed(0)
    mlp = BehaviorMLP(4, (3,), residual=True)
    torch.testing.assert_close(mlp(x, offset), offset.float(), rtol=0, atol=0)
    torch.testing.assert_close(mlp.predict_proba(x, offset)[:, 1], torch.tensor([0.5, 0.75, 0.1], dtype=torch.float64),
                               rtol=1e-15, atol=0)
    # Only the last layer starts at zero: the hidden layer is initialised as in the plain model.
    torch.manual_seed(0)
    plain = BehaviorMLP(4, (3,))
    torch.testing.assert_close(mlp.layers[0].weight, plain.layers[0].weight)
    assert plain.layers[-1].weight.abs().sum() > 0 and mlp.layers[-1].weight.abs().sum() == 0
    heads = BehaviorHeads(4, (3,), n_heads=2, residual=True)
    torch.testing.assert_close(heads(x, offset), offset.float().unsqueeze(1).expand(3, 2), rtol=0, atol=0)
    for model in (mlp, heads):
        with pytest.raises(ValueError, match="needs the offset"):
            model(x)
        with pytest.raises(ValueError, match="offset must have size 3"):
            model(x, offset[:2])
    for model in (BehaviorMLP(4), BehaviorHeads(4, n_heads=2)):
        with pytest.raises(ValueError, match="residual=False"):
            model(x, offset)


@pytest.mark.parametrize("residual", [False, True])
def test_behavior_heads_train_as_independent_students(residual):
    # Three heads (weights 0, 1, 2; head 1 without the hard labels of rows 0-4) trained together
    # with Adam follow the trajectories of three single students trained alone with DistillationLoss;
    # residual heads (every one correcting the same offset) as well.
    torch.manual_seed(0)
    x, hard, soft = torch.randn(30, 6), (torch.rand(30) < 0.5).float(), torch.rand(30)
    offset = torch.randn(30) if residual else None
    heads = BehaviorHeads(6, (4,), n_heads=3, residual=residual)
    assert heads(x, offset).shape == (30, 3) and BehaviorHeads(6, n_heads=2)(x).shape == (30, 2)
    mask = torch.ones(30, 3, dtype=torch.bool)
    mask[:5, 1] = False
    loss = HeadwiseDistillationLoss([0.0, 1.0, 2.0], mask)
    y = torch.stack([hard, soft, torch.arange(30.0)], dim=1)
    alone = []
    for h in range(3):
        single = BehaviorHeads(6, (4,), n_heads=1, residual=residual)
        with torch.no_grad():
            for mine, theirs in zip(single.parameters(), heads.parameters()):
                mine.copy_(theirs[h:h + 1])
        alone.append((single, torch.optim.Adam(single.parameters(), lr=1e-2, weight_decay=1e-4)))
    optimizer = torch.optim.Adam(heads.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(30):
        optimizer.zero_grad()
        loss(heads(x, offset), y).backward()
        optimizer.step()
        for h, (single, opt) in enumerate(alone):
            labels = torch.stack([torch.where(mask[:, h], hard, torch.nan), soft], dim=1)
            opt.zero_grad()
            DistillationLoss([0.0, 1.0, 2.0][h])(single(x, offset)[:, 0], labels).backward()
            opt.step()
    for h, (single, _) in enumerate(alone):
        torch.testing.assert_close(heads(x, offset)[:, h], single(x, offset)[:, 0], atol=1e-5, rtol=1e-5)
    if residual:  # the heads moved away from the offset they started at
        assert (heads(x, offset) - offset.unsqueeze(1)).abs().amax(dim=0).min() > 0.1
    # Unlabelled rows (index -1) feed the soft terms only; soft_held_out=False leaves a head's
    # held-out rows out of its soft term too.
    logit = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    y = torch.tensor([[1.0, 0.3, 0.0], [0.0, 0.6, 1.0], [float("nan"), 0.9, -1.0]])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    keep = torch.tensor([[True, True], [True, False]])
    out = HeadwiseDistillationLoss([1.0, 1.0], keep, soft_held_out=False)(logit, y)
    head0 = bce(logit[:2, 0], y[:2, 0]) + bce(logit[:, 0], y[:, 1])
    head1 = bce(logit[:1, 1], y[:1, 0]) + bce(logit[[0, 2], 1], y[[0, 2], 1])
    torch.testing.assert_close(out, head0 + head1)
    with pytest.raises(ValueError, match="train_mask must have shape"):
        HeadwiseDistillationLoss([1.0, 1.0, 1.0], keep)


@pytest.mark.parametrize("network, params", [
    (DisentangledGraphNet, {"n_channels": 2, "n_layers": 1}),
    (LightGCN, {"n_layers": 2}),
], ids=["disentangled", "lightgcn"])
def test_item_bias_enters_every_logit(network, params):
    g = build_bipartite_graph([0, 0, 1, 2], [0, 1, 1, 2], n_users=3, n_items=3)
    torch.manual_seed(0)
    plain = network(3, 3, embedding_dim=4, temperature=0.5, **params)
    biased = network(3, 3, embedding_dim=4, temperature=0.5, item_bias=True, **params)
    biased.load_state_dict({**plain.state_dict(), "item_bias": torch.tensor([1.0, -2.0, 0.5])})
    users, items, negs = torch.tensor([0, 2]), torch.tensor([1, 2]), torch.tensor([0, 2])
    (pos0, neg0, _), (pos1, neg1, _) = plain(users, items, negs, **g.to_torch()), biased(
        users, items, negs, **g.to_torch())
    bias = biased.item_bias.detach()
    torch.testing.assert_close(pos1, pos0 + bias[items])
    torch.testing.assert_close(neg1[0], neg0[0] + bias[negs])
    assert torch.isinf(neg1[1, 1]), "the positive stays out of its own negatives"
    h = plain.embed(**g.to_torch()).detach()
    u, v = h[:3], h[3:]
    torch.testing.assert_close(biased.all_pair_scores(u, v, logits=True),
                               plain.all_pair_scores(u, v, logits=True) + bias)
    torch.testing.assert_close(biased.item_proba(u, v), torch.softmax(plain.all_pair_scores(u, v, True) + bias, 1))
    with pytest.raises(ValueError, match="item bias"):
        biased.all_pair_scores(u, v[:2])


# ------------------------------------------------------------------ channel independence (DGCF)
def _dcor_reference(x, y):
    """Distance correlation of two samples by the textbook loops (Székely et al., 2007), float64."""
    n = len(x)
    a = np.array([[np.linalg.norm(x[i] - x[j]) for j in range(n)] for i in range(n)])
    b = np.array([[np.linalg.norm(y[i] - y[j]) for j in range(n)] for i in range(n)])
    A = a - a.mean(axis=0) - a.mean(axis=1)[:, None] + a.mean()
    B = b - b.mean(axis=0) - b.mean(axis=1)[:, None] + b.mean()
    return np.sqrt((A * B).mean() / np.sqrt((A * A).mean() * (B * B).mean()))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 12), K=st.integers(2, 3), c=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_channel_distance_correlation_matches_the_textbook_definition(n, K, c, seed):
    h = np.random.default_rng(seed).normal(size=(n, K * c))
    dcor = channel_distance_correlation(torch.from_numpy(h), K).numpy()
    blocks = h.reshape(n, K, c)
    expected = np.array([[_dcor_reference(blocks[:, k], blocks[:, l]) for l in range(K)] for k in range(K)])
    np.testing.assert_allclose(dcor, expected, atol=1e-5)


def test_channel_distance_correlation_worked_cases():
    x = torch.randn(100, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # a channel that is a similarity transform of the other: 1
    same = channel_distance_correlation(torch.cat([x, -2 * x + 5], dim=1), 2)
    np.testing.assert_allclose(same.numpy(), np.ones((2, 2)), atol=1e-6)
    # a non-linear function of the other (which Pearson correlation would miss): clearly above 0
    t = torch.linspace(-1, 1, 101, dtype=torch.float64)[:, None]
    assert channel_distance_correlation(torch.cat([t, t ** 2], dim=1), 2)[0, 1] > 0.4
    # independent samples: above 0 by the V-statistic's bias, of the order of 1 / sqrt(n)
    g = torch.Generator().manual_seed(1)
    small = channel_distance_correlation(torch.randn(50, 4, dtype=torch.float64, generator=g), 2)[0, 1]
    large = channel_distance_correlation(torch.randn(2000, 4, dtype=torch.float64, generator=g), 2)[0, 1]
    assert large < 0.08 and 0.25 < small < 0.6
    with pytest.raises(ValueError, match="multiple of n_channels=3"):
        channel_distance_correlation(torch.randn(5, 4), 3)


def test_channel_distance_correlation_has_finite_gradients_with_repeated_rows():
    # Repeated rows make zero distances, where the gradient of a plain norm is NaN.
    h = torch.randn(6, 4, dtype=torch.float64).repeat(2, 1).requires_grad_()
    channel_distance_correlation(h, 2)[0, 1].backward()
    assert torch.isfinite(h.grad).all()


def test_independence_penalty_is_the_weighted_mean_off_diagonal_dcor():
    net = DisentangledGraphNet(5, 4, embedding_dim=6, n_channels=3, n_layers=1, n_iterations=1,
                               independence=0.5, independence_rows=2)
    u, v = torch.randn(4, 6), torch.randn(4, 6)
    dcor = channel_distance_correlation(torch.cat([u[:2], v[:2]]), 3)
    expected = 0.5 * (dcor.sum() - 3) / 6
    torch.testing.assert_close(net.vector_penalty(u, v), expected)
    off = DisentangledGraphNet(5, 4, embedding_dim=6, n_channels=3)
    assert off.vector_penalty(u, v).item() == 0.0
    # forward adds it to the L2 penalty
    graph = build_bipartite_graph(np.array([0, 1, 2, 3, 4]), np.array([0, 1, 2, 3, 0]), n_users=5, n_items=4)
    f = graph.to_torch()
    torch.manual_seed(0)
    users, items = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3])
    *_, penalty = net(users, items, torch.tensor([1, 2]), f["edge_src"], f["edge_dst"], f["edge_weight"])
    h = net.embed(f["edge_src"], f["edge_dst"], f["edge_weight"])
    torch.testing.assert_close(penalty, net.vector_penalty(h[users], h[items + 5]))
    with pytest.raises(ValueError, match="independence must be >= 0"):
        DisentangledGraphNet(5, 4, independence=-1.0)
