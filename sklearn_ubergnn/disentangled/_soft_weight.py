"""The inner cross-validation behind ``DistilledBehaviorClassifier(soft_weight="auto")`` (NumPy helpers).

The estimator trains every (split, weight) student at once (``nn.BehaviorHeads``); these helpers
make the splits and the heads' label masks, score the held-out labels and apply the choice rule.
"""
import numpy as np
from scipy.stats import norm
from sklearn.model_selection import RepeatedStratifiedKFold

__all__ = ["AUTO_SOFT_WEIGHTS", "N_REPEATS", "N_SPLITS", "choose_one_standard_error", "choose_teacher_or_student",
           "fold_roc_auc", "heads_train_mask", "inner_splits", "paired_roc_auc_difference", "teacher_margin"]

#: Candidate soft weights of ``soft_weight="auto"`` (0: hard labels only); the teacher alone is one more.
AUTO_SOFT_WEIGHTS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
#: Folds and repeats of the inner stratified cross-validation.
N_SPLITS, N_REPEATS = 5, 10


def inner_splits(y, random_state):
    """Repeated stratified k-fold splits of the labelled users ``y`` (codes 0/1).

    ``min(N_SPLITS, size of the smaller class)`` folds (each fold holds both classes), repeated
    ``N_REPEATS`` times with fresh shuffles.

    Returns
    -------
    splits : list of (train, test) index arrays
    n_splits : int
        Folds per repeat.
    """
    n_splits = int(min(N_SPLITS, np.bincount(y, minlength=2).min()))
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=N_REPEATS, random_state=random_state)
    return list(cv.split(np.zeros((len(y), 1)), y)), n_splits


def heads_train_mask(splits, n_labelled, n_weights):
    """Which labelled rows train which head: ``(n_labelled, n_splits * n_weights)`` bool.

    Head ``s * n_weights + w`` is the student of weight index ``w`` on split ``s``: every labelled
    row but the split's test rows.
    """
    mask = np.ones((n_labelled, len(splits)), dtype=bool)
    for s, (_, test) in enumerate(splits):
        mask[test, s] = False
    return np.repeat(mask, n_weights, axis=1)


def fold_roc_auc(y, scores, splits):
    """ROC-AUC of every candidate on every split's held-out rows, ``(n_splits, n_candidates)``.

    Parameters
    ----------
    y : ndarray of shape (n_labelled,)
        Codes 0/1.
    scores : ndarray of shape (n_labelled, n_splits, n_candidates)
        Score of each row by each split's candidates (only the test rows of a split are read).
    splits : list of (train, test) index arrays

    Returns
    -------
    auc : ndarray of shape (n_splits, n_candidates)
        Share of the split's (positive, negative) test pairs ranked right, ties counting one half.
    """
    out = np.empty((len(splits), scores.shape[2]))
    for s, (_, test) in enumerate(splits):
        out[s] = _pair_verdicts(y, scores, s, test)[2].mean(axis=(0, 1))
    return out


def _pair_verdicts(y, scores, s, test):
    """Split ``s``'s held-out positives, negatives and every candidate's verdict on each of their pairs.

    Returns ``(positives, negatives, verdict)``: row indices of the split's test positives and
    negatives, and ``verdict (p, q, C)``, 1 where the candidate ranks the positive above the
    negative, 0.5 for a tie, 0 otherwise.
    """
    test_pos, test_neg = test[y[test] == 1], test[y[test] == 0]
    diff = scores[test_pos, s][:, None, :] - scores[test_neg, s][None, :, :]
    return test_pos, test_neg, (diff > 0) + 0.5 * (diff == 0)


def paired_roc_auc_difference(y, scores, splits, reference):
    """ROC-AUC of every candidate minus the ``reference``'s, with its standard error over the labelled users.

    Every (positive, negative) pair of labelled users held out together in a split is judged by
    that split's candidates; the pair's kernel ``psi_c(i, j)`` is candidate ``c``'s verdict
    (1 ranked right, 0.5 tied, 0 wrong) minus the reference's, averaged over the splits that held
    the pair out. The difference is the mean kernel over the pairs so judged, and its variance is
    DeLong's for a paired difference of two ROC-AUCs: ``var_i(V10) / m + var_j(V01) / n``, with
    ``V10_i`` the mean kernel of positive ``i`` over its negatives (``m`` positives) and ``V01_j``
    that of negative ``j`` (``n`` negatives). Unlike the spread of the split scores, which
    measures how the labelled users are split, this measures which users were labelled: a
    difference that a few users carry has a large error.

    Parameters
    ----------
    y : ndarray of shape (n_labelled,)
        Codes 0/1.
    scores : ndarray of shape (n_labelled, n_splits, n_candidates)
        Score of each row by each split's candidates (only the test rows of a split are read).
    splits : list of (train, test) index arrays
    reference : int
        The candidate the others are compared with (its own difference is 0).

    Returns
    -------
    difference, se : ndarray of shape (n_candidates,)

    References
    ----------
    DeLong, DeLong and Clarke-Pearson (1988), "Comparing the areas under two or more correlated
    receiver operating characteristic curves: a nonparametric approach", Biometrics 44(3).
    """
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    slot = np.zeros(len(y), dtype=np.int64)
    slot[pos], slot[neg] = np.arange(len(pos)), np.arange(len(neg))
    total = np.zeros((len(pos), len(neg), scores.shape[2]))
    count = np.zeros((len(pos), len(neg)))
    for s, (_, test) in enumerate(splits):
        test_pos, test_neg, verdict = _pair_verdicts(y, scores, s, test)  # verdict (p, q, C)
        rows = np.ix_(slot[test_pos], slot[test_neg])  # each pair at most once per split
        total[rows] += verdict - verdict[..., reference:reference + 1]
        count[rows] += 1
    judged = count > 0
    kernel = total / np.maximum(count, 1)[..., None]
    v10 = kernel.sum(axis=1) / np.maximum(judged.sum(axis=1), 1)[:, None]  # (m, C)
    v01 = kernel.sum(axis=0) / np.maximum(judged.sum(axis=0), 1)[:, None]  # (n, C)
    v10, v01 = v10[judged.any(axis=1)], v01[judged.any(axis=0)]
    difference = kernel[judged].mean(axis=0)
    variance = v10.var(axis=0, ddof=1) / len(v10) + v01.var(axis=0, ddof=1) / len(v01)
    return difference, np.sqrt(variance)


def choose_one_standard_error(fold_scores, n_splits, simplest_first):
    """The one-standard-error rule: the simplest candidate within one standard error of the best.

    The best candidate has the highest mean over splits; its standard error is that of one k-fold
    run, ``std(fold scores) / sqrt(n_splits)`` (repeats average out the split, not the labelled
    sample). The chosen candidate is the first of ``simplest_first`` whose mean reaches the best
    mean minus that error.

    Returns
    -------
    chosen : int
        Index of the chosen candidate.
    mean, std : ndarray of shape (n_candidates,)
        Mean and standard deviation of the fold scores.
    """
    mean, std = fold_scores.mean(axis=0), fold_scores.std(axis=0, ddof=1)
    best = int(np.argmax(mean))
    threshold = mean[best] - std[best] / np.sqrt(n_splits)
    chosen = next(int(c) for c in simplest_first if mean[c] >= threshold - 1e-12)
    return chosen, mean, std


def teacher_margin(n_students):
    """Standard errors by which the best of ``n_students`` students must beat the teacher to replace it.

    The one-standard-error rule keeps the simpler candidate unless the best is more than one
    standard error ahead, a one-sided error of ``1 - Phi(1) = 0.159`` for one comparison. Against
    the best of ``n_students`` students, the same error calls for the Bonferroni margin
    ``Phi^{-1}(1 - 0.159 / n_students)``: 1 for one student, 1.93 for six.
    """
    return float(norm.ppf(1 - norm.sf(1.0) / n_students))


def choose_teacher_or_student(fold_scores, n_splits, teacher, students_simplest_first, paired=None):
    """The teacher unless the best student beats it by :func:`teacher_margin` standard errors.

    The teacher is the simplest candidate (nothing fitted on the labels) and the one-standard-error
    rule would keep it within one standard error of the best; but the best of several students is
    the maximum of several noisy means, and beats one fixed candidate by a standard error by chance
    far more often than one student would. So the teacher is kept when its mean reaches the best
    student's mean minus ``teacher_margin(n_students)`` standard errors (of one k-fold run, as in
    :func:`choose_one_standard_error`); otherwise the students are chosen among by the
    one-standard-error rule, in the order ``students_simplest_first``.

    With ``paired=(difference, se)`` (:func:`paired_roc_auc_difference` against the teacher), the
    teacher is also kept unless the best student's paired difference exceeds the same number of
    its standard errors over the labelled users: both margins must be cleared.

    Returns
    -------
    chosen : int
        ``teacher`` or a student's index.
    mean, std : ndarray of shape (n_candidates,)
        Mean and standard deviation of the fold scores.
    """
    mean, std = fold_scores.mean(axis=0), fold_scores.std(axis=0, ddof=1)
    students = list(students_simplest_first)
    best = students[int(np.argmax(mean[students]))]
    z = teacher_margin(len(students))
    if mean[teacher] >= mean[best] - z * std[best] / np.sqrt(n_splits) - 1e-12:
        return teacher, mean, std
    if paired is not None and paired[0][best] <= z * paired[1][best] + 1e-12:
        return teacher, mean, std
    chosen, _, _ = choose_one_standard_error(fold_scores, n_splits, students)
    return chosen, mean, std
