"""Packaging for sklearn_ubergnn.

Install for use with ``pip install "torch==2.13.0" .`` (the pin selects the CPU build that
lies on the project's machines) or for development with ``pip install "torch==2.13.0" -e ".[test]"``.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "sklearn_ubergnn" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="sklearn_ubergnn",
    version=VERSION,
    description=(
        "scikit-learn compatible graph neural network recommenders and embedders "
        "(UBER-GNN, dynamic interaction graphs, disentangled GNNs) backed by skorch"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["sklearn_ubergnn", "sklearn_ubergnn.*"]),
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "pandas>=2.0",
        "scikit-learn>=1.6",
        # torch: any 2.x from 2.2 on works; the README's commands pin 2.13.0, which resolves to
        # the CPU wheel on this project's machines instead of a multi-GB CUDA download.
        "torch>=2.2",
        "skorch>=1.0",
        "joblib>=1.3",
        "matplotlib>=3.7",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.80", "pytest-xdist>=3"],
        # the documentation site: bash docs/build.sh
        "docs": ["sphinx>=7.3", "numpydoc>=1.8", "sphinx-gallery>=0.17", "myst-parser>=3",
                 "pydata-sphinx-theme>=0.15"],
        # joblib's "dask" backend for GridSearchCV & co. on a cluster (docs/scaling.md)
        "distributed": ["dask[dataframe,distributed]>=2024.1", "pyarrow>=14"],
    },
    entry_points={"console_scripts": ["ubergnn = sklearn_ubergnn.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
