"""Pixel stages: decode and align a real once (align), matched augmentation (augment), final encoding (codecs)."""
