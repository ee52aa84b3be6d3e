"""Fixtures shared by the test modules of the package."""
import pytest
import torch

from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.preprocessing import session_prefixes


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for a module, then the caller's setting back.

    Tiny models run fastest on one thread, and parallel test jobs do not fight over the cores.
    Use it in a module with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def session_split():
    """Every prefix of 240 planted sessions for training, of 60 later ones for testing.

    Returns ``(X, y, X_test, y_test)``: lists of sessions and arrays of next items.
    """
    sessions, _, _ = make_sessions(n_sessions=300, random_state=0)
    X, y = session_prefixes(sessions[:240])
    X_test, y_test = session_prefixes(sessions[240:])
    return X, y, X_test, y_test
