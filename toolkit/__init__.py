"""toolkit: aligned real/fake image corpora for synthetic-image detection research."""

__version__ = "0.1.0"
