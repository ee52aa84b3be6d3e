"""Fixtures for the real-data and integration tests.

The real datasets live beside the checkout in ``../shared/data``; override the location with the
``UBERGNN_SHARED_DATA`` environment variable. Tests that need a dataset skip when it is absent.
"""
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data():
    """Return a function ``name -> Path`` that skips the test when ``../shared/data/name`` is absent."""

    def get(name):
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"real dataset {name!r} not found under {SHARED_DATA}")
        return path

    return get
