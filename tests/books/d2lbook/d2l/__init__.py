"""The Mini Book's library: `from d2l import torch as d2l`."""

__version__ = "0.0.0"
