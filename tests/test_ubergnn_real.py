"""Real-data smoke test of UberGNNRecommender on SR-GNN's YOOCHOOSE 1/64 split (skips without the data)."""
import numpy as np
import pytest
import torch

from sklearn_ubergnn.datasets import load_srgnn
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session._ubergnn import UberGNNRecommender


@pytest.mark.slow
def test_one_epoch_on_recent_yoochoose_beats_popularity(shared_data):
    data = load_srgnn(shared_data("yoochoose1_64"))
    X, y = session_prefixes(data.train_sessions, order="srgnn")
    X, y = X[-20_000:], y[-20_000:]  # the most recent training sessions (files are in time order)
    X_test, y_test = data.test_X[:5_000], np.asarray(data.test_y[:5_000])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = UberGNNRecommender(max_epochs=1, lr=0.01, validation_fraction=None, random_state=0).fit(X, y)
        ranked = model.recommend(X_test, k=20)
    finally:
        torch.set_num_threads(threads)
    counts = model.item_counts_
    popular = np.broadcast_to(model.classes_[np.argsort(-counts, kind="stable")[:20]], ranked.shape)
    p20, mrr20 = precision_at_k(y_test, ranked, k=20), mrr_at_k(y_test, ranked, k=20)
    assert p20 > 2 * precision_at_k(y_test, popular, k=20), p20
    assert mrr20 > 2 * mrr_at_k(y_test, popular, k=20), mrr20
    assert ranked.shape == (5_000, 20)
