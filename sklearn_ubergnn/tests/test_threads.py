"""Thread control: ``n_jobs`` resolution, the probe of busy CPUs, and the caller's setting restored."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_ubergnn import (
    BPRMatrixFactorization,
    DisentangledGraphEmbedder,
    DynamicGraphEmbedder,
    DynamicInteractionClassifier,
    GRU4RecRecommender,
    UberGNNRecommender,
    _threads,
)
from sklearn_ubergnn._threads import (
    SMALL_WORK,
    busy_cpus_elsewhere,
    denormals_flushed,
    flushed_denormals,
    resolve_n_threads,
    torch_threads,
    usable_cpu_count,
)
from sklearn_ubergnn.datasets import make_bipartite, make_interactions, make_sessions
from sklearn_ubergnn.preprocessing import session_prefixes


@pytest.fixture
def caller_threads():
    """Run the test with the caller's torch threads at an unusual value, and put the old one back."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


@pytest.fixture
def no_probe(monkeypatch):
    """Pretend the machine is idle (the probe's answer is set by the test)."""
    state = {"busy": 0.0}
    monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda *a, **k: state["busy"])
    return state


class ThreadRecorder(Callback):
    """Record torch's thread count at every training batch."""

    def initialize(self):
        self.seen_ = set()
        return self

    def on_batch_begin(self, net, **kwargs):
        self.seen_.add(torch.get_num_threads())


class FailAfterFirstEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


# ------------------------------------------------------------------------------------ resolution
def test_explicit_n_jobs_is_taken_as_is(no_probe):
    no_probe["busy"] = 1.0
    assert resolve_n_threads(1) == 1
    assert resolve_n_threads(5, work=1.0) == 5  # explicit beats every heuristic


def test_negative_n_jobs_counts_back_from_usable_cpus(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert resolve_n_threads(-1) == 4
    assert resolve_n_threads(-2) == 3
    assert resolve_n_threads(-10) == 1


def test_n_jobs_zero_is_refused():
    with pytest.raises(ValueError, match="n_jobs == 0"):
        resolve_n_threads(0)


def test_small_work_takes_one_thread_without_probing(monkeypatch):
    monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda *a, **k: pytest.fail("probed"))
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert resolve_n_threads(None, work=SMALL_WORK / 2) == 1


def test_large_work_takes_the_cpus_others_leave_free(monkeypatch, no_probe):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert resolve_n_threads(None, work=SMALL_WORK * 10) == 4
    no_probe["busy"] = 1.2  # one busy core (rounded)
    assert resolve_n_threads(None, work=SMALL_WORK * 10) == 3
    no_probe["busy"] = 9.0
    assert resolve_n_threads(None, work=SMALL_WORK * 10) == 1
    assert resolve_n_threads(None, work=None) == 1  # unknown work: the same rule


def test_usable_cpus_respect_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert usable_cpu_count() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    from joblib import cpu_count

    assert usable_cpu_count() == cpu_count()


def test_torch_threads_restores_the_setting_even_on_error(caller_threads):
    with pytest.raises(KeyError):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise KeyError("x")
    assert torch.get_num_threads() == caller_threads
    with torch_threads(None):
        assert torch.get_num_threads() == caller_threads


needs_flush = pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush denormals")


@needs_flush
def test_flushed_denormals_restores_the_caller_setting_even_on_error():
    assert not denormals_flushed() and float(torch.tensor([1e-30]) * 1e-10) > 0   # a denormal result
    with pytest.raises(KeyError), flushed_denormals():
        assert denormals_flushed() and float(torch.tensor([1e-30]) * 1e-10) == 0
        raise KeyError("x")
    assert not denormals_flushed()
    torch.set_flush_denormal(True)          # a caller who flushes them already keeps flushing
    try:
        with flushed_denormals():
            pass
        assert denormals_flushed()
    finally:
        torch.set_flush_denormal(False)


@needs_flush
def test_estimators_flush_denormals_inside_their_calls_only(caller_threads):
    X, y = _sessions()
    seen = []

    class Record(Callback):
        def on_batch_begin(self, net, **kwargs):
            seen.append(denormals_flushed())

    model = UberGNNRecommender(hidden_size=8, max_epochs=1, n_jobs=1, callbacks=[("flush", Record())]).fit(X, y)
    assert seen and all(seen) and not denormals_flushed()
    model.recommend(X[:5], k=3)
    assert not denormals_flushed()


# ------------------------------------------------------------------------------------ the probe
needs_proc = pytest.mark.skipif(
    not os.path.exists("/proc/stat") or len(os.sched_getaffinity(0)) < 2, reason="needs Linux and 2 CPUs"
)


@needs_proc
def test_probe_sees_another_busy_process(monkeypatch):
    monkeypatch.setitem(_threads._probe_cache, "time", -float("inf"))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert busy_cpus_elsewhere(window=0.3) > 0.5
    finally:
        spinner.kill()
        spinner.wait()


@needs_proc
def test_probe_does_not_count_this_process(monkeypatch):
    """A thread of our own spinning during the probe is our work, not another process's."""
    monkeypatch.setitem(_threads._probe_cache, "time", -float("inf"))
    stop = threading.Event()

    def spin():
        x = 0
        while not stop.is_set():
            x += 1

    worker = threading.Thread(target=spin)
    worker.start()
    try:
        own_busy = busy_cpus_elsewhere(window=0.3)
    finally:
        stop.set()
        worker.join()
    # what other processes do meanwhile still counts; our spinning thread alone would add ~1
    monkeypatch.setitem(_threads._probe_cache, "time", -float("inf"))
    assert own_busy < busy_cpus_elsewhere(window=0.3) + 0.6


# ------------------------------------------------------------------------------------ estimators
def _sessions():
    sessions, _, _ = make_sessions(n_sessions=150, n_items=30, random_state=0)
    return session_prefixes(sessions)


def _streams():
    return make_interactions(n_objects=30, n_interactions=400, random_state=0)


SESSION_ESTIMATORS = [
    lambda **kw: UberGNNRecommender(hidden_size=8, max_epochs=2, batch_size=64, random_state=0, **kw),
    lambda **kw: GRU4RecRecommender(hidden_size=8, embedding_size=8, max_epochs=2, batch_size=64,
                                    random_state=0, **kw),
]


@pytest.mark.parametrize("build", SESSION_ESTIMATORS)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_session_estimators_train_on_n_jobs_and_restore(build, n_jobs, caller_threads):
    X, y = _sessions()
    recorder = ThreadRecorder()
    model = build(n_jobs=n_jobs, callbacks=[("threads", recorder)]).fit(X, y)
    assert recorder.seen_ == {n_jobs}
    assert torch.get_num_threads() == caller_threads
    model.recommend(X[:5], k=3)
    model.predict(X[:5])
    assert torch.get_num_threads() == caller_threads


@pytest.mark.parametrize("build", SESSION_ESTIMATORS)
def test_small_models_train_on_one_thread_by_default(build, caller_threads):
    X, y = _sessions()
    recorder = ThreadRecorder()
    build(callbacks=[("threads", recorder)]).fit(X, y)
    assert recorder.seen_ == {1}
    assert torch.get_num_threads() == caller_threads


def test_caller_setting_restored_when_fit_raises(caller_threads):
    X, y = _sessions()
    model = UberGNNRecommender(hidden_size=8, max_epochs=2, n_jobs=1, callbacks=[("fail", FailAfterFirstEpoch())])
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y)
    assert torch.get_num_threads() == caller_threads


def test_stream_and_graph_estimators_restore_the_caller_setting(caller_threads):
    X = _streams()
    recorder = ThreadRecorder()
    emb = DynamicGraphEmbedder(embedding_dim=8, max_epochs=1, n_jobs=2, random_state=0,
                               callbacks=[("threads", recorder)]).fit(X)
    assert recorder.seen_ == {2}
    emb.transform(X.iloc[:10])
    emb.predict_link_proba(X.iloc[:10])
    y = np.asarray(X["label"]) if "label" in X else (np.arange(len(X)) % 2)
    clf = DynamicInteractionClassifier(embedding_dim=8, max_epochs=1, n_jobs=1, random_state=0).fit(X, y)
    clf.predict_proba(X.iloc[:10])
    assert torch.get_num_threads() == caller_threads
    edges = make_bipartite(n_users=30, n_items=20, random_state=0)[0]
    for model in (DisentangledGraphEmbedder(embedding_dim=8, max_epochs=1, n_jobs=2, random_state=0),
                  BPRMatrixFactorization(embedding_dim=8, max_epochs=1, random_state=0)):
        model.fit(edges)
        assert torch.get_num_threads() == caller_threads


class SlowOn(Callback):
    """Make every training batch run on ``n`` threads take 300 ms longer (a busy core, simulated: more
    than the noise of a loaded CI machine on these tiny batches; 50 ms was not, with two training jobs
    and a test run sharing 2 cores)."""

    def __init__(self, n):
        self.n = n

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and torch.get_num_threads() == self.n:
            time.sleep(0.3)


@pytest.mark.parametrize("slow, chosen", [(2, 1), (1, 2)])
def test_thread_budget_keeps_what_timed_batches_show_faster(slow, chosen, monkeypatch, no_probe, caller_threads):
    """Large model, 2 free CPUs: a few batches on 1 and on 2 threads decide; inference reuses the choice."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(_threads, "SMALL_WORK", 0.0)  # every model counts as large here
    X, y = _sessions()
    recorder = ThreadRecorder()
    model = UberGNNRecommender(hidden_size=8, max_epochs=3, batch_size=32, validation_fraction=None,
                               random_state=0, callbacks=[("slow", SlowOn(slow)), ("threads", recorder)])
    model.fit(X, y)
    budget = dict(model.net_.callbacks_)["thread_budget"]
    assert budget.n_threads_ == chosen
    assert recorder.seen_ == {1, 2}  # both were tried
    assert torch.get_num_threads() == caller_threads
    seen = []
    monkeypatch.setattr(_threads, "torch_threads", lambda n: seen.append(n) or torch_threads(n))
    model.recommend(X[:4], k=2)
    assert seen == [chosen]


def test_thread_budget_tries_nothing_beside_a_busy_process(monkeypatch, no_probe):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(_threads, "SMALL_WORK", 0.0)
    no_probe["busy"] = 1.0
    X, y = _sessions()
    recorder = ThreadRecorder()
    model = UberGNNRecommender(hidden_size=8, max_epochs=2, validation_fraction=None, random_state=0,
                               callbacks=[("threads", recorder)]).fit(X, y)
    assert recorder.seen_ == {1} and dict(model.net_.callbacks_)["thread_budget"].n_threads_ == 1


def test_thread_budget_chooses_again_after_long_epochs(monkeypatch, no_probe):
    """A job that starts on the other cores mid-fit is noticed before the next (long) epoch."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(_threads, "SMALL_WORK", 0.0)
    X, y = _sessions()
    recorder, per_epoch = ThreadRecorder(), []

    class LongEpochs(Callback):  # every epoch "took a minute"; the machine gets busy after the first
        def on_epoch_end(self, net, **kwargs):
            net.history.record("dur", 60.0)
            no_probe["busy"] = 1.0
            per_epoch.append(set(recorder.seen_))
            recorder.seen_.clear()

    before = torch.get_num_threads()
    try:
        model = UberGNNRecommender(hidden_size=8, max_epochs=3, batch_size=32, validation_fraction=None,
                                   random_state=0, callbacks=[("slow", SlowOn(1)), ("long", LongEpochs()),
                                                              ("threads", recorder)]).fit(X, y)
    finally:
        torch.set_num_threads(before)
    assert per_epoch[0] == {1, 2} and per_epoch[-1] == {1}  # idle: both tried; then busy: no trial
    assert dict(model.net_.callbacks_)["thread_budget"].n_threads_ == 1
