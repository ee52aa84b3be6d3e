"""The teachers' soft labels of :class:`DistilledBehaviorClassifier` (pure NumPy/SciPy helpers).

Kept out of the estimator module, which does no maths on scores: it gathers the teacher's
vectors or probabilities and hands them here.
"""
import numpy as np
from scipy.special import expit

__all__ = ["at_least_once", "proba_to_logit", "sigmoid_of_dot"]


def sigmoid_of_dot(user_vectors, item_vector, temperature):
    """``sigmoid(u . v / temperature)`` of every user vector ``u`` (rows) with one item vector ``v``.

    Parameters
    ----------
    user_vectors : ndarray of shape (n, d)
    item_vector : ndarray of shape (d,)
    temperature : float

    Returns
    -------
    proba : ndarray of shape (n,), float64
    """
    return expit((np.asarray(user_vectors, dtype=np.float64) @ item_vector) / temperature)


def at_least_once(proba, n_draws):
    """``1 - (1 - p) ** n``: the chance that an item of probability ``p`` is among ``n`` independent draws.

    Computed as ``-expm1(n * log1p(-p))`` (``p`` capped below 1) so that small ``p`` keep their precision.

    Parameters
    ----------
    proba : ndarray of shape (n,)
        Probability of the item in one draw.
    n_draws : ndarray of shape (n,)
        Number of draws.

    Returns
    -------
    proba : ndarray of shape (n,), float64
    """
    return -np.expm1(n_draws * np.log1p(-np.minimum(proba, 1 - 1e-12)))


def proba_to_logit(proba):
    """``log(p / (1 - p))``, ``p`` clipped to ``[1e-15, 1 - 1e-15]`` so that the logits stay finite.

    Parameters
    ----------
    proba : ndarray of shape (n,)

    Returns
    -------
    logit : ndarray of shape (n,), float64
    """
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1 - 1e-15)
    return np.log(p) - np.log1p(-p)
