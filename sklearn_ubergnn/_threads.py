"""How many CPU threads torch uses inside an estimator's ``fit``, ``predict``, ``recommend``, ``transform``.

PyTorch's CPU kernels run on an OpenMP thread pool whose threads spin while they wait for work. When
another process holds one of the cores, the thread that shares that core is descheduled while its
siblings spin at the next barrier, and every parallel region waits for it: on a 2-core machine with one
busy core the package's demo took 81 s with torch's default of 2 threads and 23 s with one
(``benchmarks/threads.py``). Small models do not gain from a second thread even on an idle machine
(their kernels are too short to pay for the hand-over), large ones do (1.4x for SR-GNN on YOOCHOOSE
1/64). So every estimator that runs torch has an ``n_jobs`` parameter, resolved per call by
:func:`resolve_n_threads`:

- an int: exactly that many threads; negative values count back from the usable CPUs as in joblib
  (``-1`` all of them, ``-2`` all but one);
- ``None`` (the default): one thread when the model's work per batch is small
  (:data:`SMALL_WORK`); else the usable CPUs less those that other processes keep busy right now
  (:func:`busy_cpus_elsewhere`), kept in training only if a few timed batches show them faster than one
  thread (:class:`ThreadBudget`).

Inside those calls float results below the normal range (denormals, |x| < 1.2e-38 in float32) are
flushed to zero (:class:`flushed_denormals`), as TensorFlow's CPU thread pools do by default: x86 cores
take up to a hundred times longer on arithmetic with denormal operands, and a weight that training
drives towards zero passes through them. On YOOCHOOSE 1/64 the star node's attention weights of
``UberGNNRecommender()`` decay into that range within the first epoch, which made that epoch 1.36x
(one thread) to 1.42x (two) slower than with the flush (``benchmarks/RESULTS.md``). No model
depends on values that small.

The usable CPUs are ``OMP_NUM_THREADS`` when it is set (joblib sets it in the workers of a parallel
search, so nested searches never oversubscribe) and otherwise the CPUs this process may run on, cgroup
quota included (:func:`joblib.cpu_count`), as scikit-learn's OpenMP estimators count them. The caller's
``torch.get_num_threads()`` is restored when the call returns or raises (:func:`torch_threads`).
"""
import functools
import os
import threading
import time

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = [
    "SMALL_WORK",
    "ThreadBudget",
    "busy_cpus_elsewhere",
    "denormals_flushed",
    "flushed_denormals",
    "resolve_n_threads",
    "torch_threads",
    "usable_cpu_count",
    "uses_torch_threads",
]

#: Work per batch (parameters of the module x samples per batch) under which training and inference
#: run on one thread without trying more: a second thread gained at most ~10 % on such models on an
#: idle 2-core machine and made them 3.5x slower beside a busy process (``benchmarks/threads.py``).
SMALL_WORK = 1e7

_PROBE_SECONDS = 0.1  # sampling window of /proc/stat (10 ms ticks: 10 per CPU)
_PROBE_CACHE_SECONDS = 1.0  # a probe is reused for this long (recommend in chunks probes once)
_probe_cache = {"time": -float("inf"), "value": 0.0}
_local = threading.local()


def usable_cpu_count():
    """CPUs torch may use here: ``OMP_NUM_THREADS`` if set, else the CPUs (affinity, cgroup quota).

    Returns
    -------
    n : int
        At least 1.
    """
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def _cpu_ticks(cpus):
    """``(busy, total)`` jiffies of the CPUs ``cpus`` from ``/proc/stat``."""
    busy = total = 0
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *fields = line.split()
            if int(name[3:]) not in cpus:
                continue
            values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            total += sum(values)
            busy += sum(values) - values[3] - values[4]
    return busy, total


def busy_cpus_elsewhere(window=_PROBE_SECONDS):
    """How many of this process's CPUs other processes keep busy, sampled over ``window`` seconds.

    The busy time of the CPUs this process may run on (``/proc/stat``, steal time included) less this
    process's own CPU time over the same window. Reused for :data:`_PROBE_CACHE_SECONDS`.

    Returns
    -------
    busy : float
        Busy CPUs, e.g. ``1.0`` when one other process spins; ``0.0`` where ``/proc/stat`` does not
        exist (not Linux).
    """
    now = time.monotonic()
    if now - _probe_cache["time"] < _PROBE_CACHE_SECONDS:
        return _probe_cache["value"]
    try:
        cpus = os.sched_getaffinity(0)
        busy0, _ = _cpu_ticks(cpus)
        own0, tic = sum(os.times()[:2]), time.monotonic()
        time.sleep(window)
        busy1, _ = _cpu_ticks(cpus)
        own1, toc = sum(os.times()[:2]), time.monotonic()
    except (OSError, AttributeError, ValueError):
        value = 0.0
    else:
        elapsed = max(toc - tic, 1e-3)
        value = max(0.0, (busy1 - busy0) / os.sysconf("SC_CLK_TCK") / elapsed - (own1 - own0) / elapsed)
    _probe_cache.update(time=time.monotonic(), value=value)
    return value


def resolve_n_threads(n_jobs, work=None):
    """The number of torch threads for one call, from an estimator's ``n_jobs`` and its work per batch.

    Parameters
    ----------
    n_jobs : int or None
        The estimator's parameter (see the module docstring). 0 is invalid.
    work : float or None, default=None
        Parameters of the module times samples per batch; None when not known yet.

    Returns
    -------
    n_threads : int
        At least 1.
    """
    if n_jobs is not None:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 has no meaning; use None, a positive number of threads or -1 for all CPUs.")
        return int(n_jobs) if n_jobs > 0 else max(1, usable_cpu_count() + 1 + int(n_jobs))
    if work is not None and work < SMALL_WORK:
        return 1
    cpus = usable_cpu_count()
    if cpus == 1:
        return 1
    return max(1, cpus - int(busy_cpus_elsewhere() + 0.5))


class torch_threads:
    """Context manager: run torch on ``n`` intra-op threads, then restore the caller's setting.

    ``None`` changes nothing. The setting is restored on exit whatever happens inside.
    """

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.previous = torch.get_num_threads()
        if self.n is not None and self.n != self.previous:
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        if torch.get_num_threads() != self.previous:
            torch.set_num_threads(self.previous)
        return False


def denormals_flushed():
    """Whether float results below the normal range are flushed to zero on this thread now."""
    return bool((torch.tensor([1e-30]) * 1e-10)[0] == 0)  # 1e-40 is a float32 denormal


class flushed_denormals:
    """Context manager: flush float denormals to zero (:func:`torch.set_flush_denormal`), then restore.

    A no-op where the CPU cannot flush them; the caller's setting, read on entry
    (:func:`denormals_flushed`), is restored on exit whatever happens inside.
    """

    def __enter__(self):
        self.previous = denormals_flushed()
        if not self.previous:
            torch.set_flush_denormal(True)
        return self

    def __exit__(self, *exc):
        if not self.previous:
            torch.set_flush_denormal(False)
        return False


def module_work(net, batch_size):
    """Parameters of a fitted net's module times ``batch_size``; None when the net is not initialised."""
    module = getattr(net, "module_", None)
    if module is None:
        return None
    return float(sum(p.numel() for p in module.parameters())) * batch_size


def _trained_threads(net):
    """The threads the net's :class:`ThreadBudget` settled on in training, or None."""
    for _, callback in getattr(net, "callbacks_", ()) or ():
        if isinstance(callback, ThreadBudget):
            return getattr(callback, "n_threads_", None)
    return None


def uses_torch_threads(method):
    """Decorate an estimator method that runs torch: ``n_jobs`` threads and denormals flushed to zero
    (:class:`flushed_denormals`) for its duration.

    The outermost decorated call on a thread resolves the count (``fit`` starts on one thread and lets
    :class:`ThreadBudget` choose once the module exists; inference sizes the work from ``net_``) and
    restores the caller's ``torch.get_num_threads()`` and denormal setting when it returns or raises. Nested calls
    (``predict`` calling ``recommend``) keep the outer call's setting.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if getattr(_local, "active", False) or not hasattr(self, "n_jobs"):
            return method(self, *args, **kwargs)
        n_jobs = self.n_jobs
        if method.__name__ in ("fit", "partial_fit", "fit_transform") and n_jobs is None:
            n = 1  # data preparation; the net's ThreadBudget callback sizes training on the real module
        elif n_jobs is None and _trained_threads(getattr(self, "net_", None)) == 1:
            n = 1  # training found no gain in a second thread (or the model is small)
        else:
            work = module_work(getattr(self, "net_", None), getattr(self, "batch_size", 1))
            n = resolve_n_threads(n_jobs, work)
        _local.active = True
        try:
            with torch_threads(n), flushed_denormals():
                return method(self, *args, **kwargs)
        finally:
            _local.active = False

    return wrapper


class ThreadBudget(Callback):
    """skorch callback: choose torch's threads for training by timing a few batches, re-checked later.

    With ``n_jobs`` given, training runs on :func:`resolve_n_threads` of it. With ``n_jobs=None``:

    1. a module whose work per batch is under :data:`SMALL_WORK` trains on one thread;
    2. otherwise the candidate is the usable CPUs less those other processes keep busy
       (:func:`busy_cpus_elsewhere`); if that is 1, one thread;
    3. otherwise ``n_batches`` training batches are timed on one thread and ``n_batches`` on the
       candidate (after one batch to warm up), and the candidate is kept only if its median batch is
       at least ``min_gain`` faster. Beside a busy process the candidate's threads wait for each other
       at every kernel and lose; on an idle machine a large enough model gains.

    Steps 2 and 3 are repeated before an epoch when the previous one took longer than
    ``recheck_after`` seconds, so a job started on the other cores mid-fit is noticed. The choice is
    kept in ``n_threads_`` (inference reuses it: a model that trained best on one thread predicts on
    one). The caller's setting is restored by the estimator method that runs the training
    (:func:`uses_torch_threads`), not here.

    Parameters
    ----------
    n_jobs : int or None, default=None
        As the estimators' ``n_jobs``.
    recheck_after : float, default=10.0
        Choose again before an epoch when the previous one took longer than this many seconds.
    n_batches : int, default=3
        Timed batches per setting.
    min_gain : float, default=0.1
        The candidate must make the median batch this much faster (a share) to be kept.
    """

    def __init__(self, n_jobs=None, recheck_after=10.0, n_batches=3, min_gain=0.1):
        self.n_jobs = n_jobs
        self.recheck_after = recheck_after
        self.n_batches = n_batches
        self.min_gain = min_gain

    def _set(self, n):
        if n != torch.get_num_threads():
            torch.set_num_threads(n)

    def _choose(self, net):
        """Set the threads now; start timing batches if a candidate above one thread must be tried."""
        self._trials = None
        if self.n_jobs is not None:
            self.n_threads_ = resolve_n_threads(self.n_jobs)
        elif (module_work(net, net.batch_size) or 0.0) < SMALL_WORK:
            self.n_threads_ = 1
        else:
            candidate = resolve_n_threads(None)  # the CPUs other processes leave free
            self.n_threads_ = 1
            if candidate > 1:
                self._trials = {"order": [1, candidate], "times": {1: [], candidate: []}, "skip": 1}
        self._set(self.n_threads_)

    def on_train_begin(self, net, **kwargs):
        self._choose(net)

    def on_epoch_begin(self, net, **kwargs):
        if self.n_jobs is not None or len(net.history) < 2:
            return
        if net.history[-2].get("dur", 0.0) > self.recheck_after:
            self._choose(net)

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and self._trials is not None:
            self._tic = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        trials = self._trials
        if not training or trials is None:
            return
        elapsed = time.perf_counter() - self._tic
        if trials["skip"]:  # the first batch after a change warms the new thread pool up
            trials["skip"] -= 1
            return
        current = trials["order"][0]
        trials["times"][current].append(elapsed)
        if len(trials["times"][current]) < self.n_batches:
            return
        trials["order"].pop(0)
        if trials["order"]:  # now time the candidate
            self._set(trials["order"][0])
            trials["skip"] = 1
            return
        one, candidate = (float(np.median(t)) for t in trials["times"].values())
        n_candidate = list(trials["times"])[1]
        self.n_threads_ = n_candidate if candidate < (1.0 - self.min_gain) * one else 1
        self._set(self.n_threads_)
        self._trials = None
