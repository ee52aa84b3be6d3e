"""``argparse`` types that check numbers when the command line is parsed, before any data is loaded.

A bad value is reported by ``argparse`` as ``argument --k: must be a positive integer, got '0'``.
"""
import argparse
import math

__all__ = ["non_negative_int", "nonzero_int", "positive_float", "positive_int"]


def _integer(text, minimum, what):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text):
    """An integer >= 1 (``--k``, ``--epochs``, ``--batch-size``...)."""
    return _integer(text, 1, "a positive integer")


def non_negative_int(text):
    """An integer >= 0 (``--seed``, ``--min-item-count``)."""
    return _integer(text, 0, "an integer >= 0")


def nonzero_int(text):
    """A non-zero integer (``--threads``: N threads, or -1 for every CPU, -2 all but one)."""
    value = _integer(text, -(10**9), "a non-zero integer")
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be a non-zero integer (-1 for every CPU), got {text!r}")
    return value


def positive_float(text):
    """A finite number > 0 (``--lr``, ``--test-days``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value
