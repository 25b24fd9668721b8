"""Matched augmentation: one draw per pair, identical bytes-level treatment of every member."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
from PIL import Image

from toolkit.transforms.augment import Augmenter, BlurConfig, JpegConfig, WebpConfig
from toolkit.transforms.codecs import jpeg_tables


def ops():
    return {"blur": BlurConfig(p=0.3, sigma=[0.5, 1.5]), "jpeg": JpegConfig(p=0.5, quality=[60, 95]),
            "webp": WebpConfig(p=0.25, quality=[60, 95])}


def test_matched_plan_is_per_pair_and_deterministic():
    a = Augmenter(ops(), matched=True, seed=7)
    assert a.plan("p1", 0) == a.plan("p1", 3)  # every member of a pair gets the same chain
    assert a.plan("p1") == Augmenter(ops(), matched=True, seed=7).plan("p1")
    plans = [a.plan(f"p{i}") for i in range(400)]
    assert len({p.record() for p in plans}) > 50  # parameters are drawn, not fixed
    codecs = Counter(p.codec[0] for p in plans)
    assert abs(codecs["jpeg"] / 400 - 0.5) < 0.08 and abs(codecs["webp"] / 400 - 0.25) < 0.07
    assert abs(codecs["png"] / 400 - 0.25) < 0.07
    blurred = sum(p.steps[0][0] == "blur" for p in plans)
    assert abs(blurred / 400 - 0.3) < 0.07
    for p in plans:
        q = p.codec[1].get("quality")
        assert q is None or 60 <= q <= 95


def test_unmatched_draws_per_member():
    a = Augmenter(ops(), matched=False, seed=7)
    differ = sum(a.plan(f"p{i}", 0) != a.plan(f"p{i}", 1) for i in range(100))
    assert differ > 40


def test_apply_gives_same_tables_to_both_members():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-9, 9, real.shape), 0, 255).astype(np.uint8)
    a = Augmenter({"jpeg": JpegConfig(p=1.0, quality=[70, 70])}, matched=True, seed=0)
    plan = a.plan("x")
    (d1, f1, w1, h1), (d2, f2, w2, h2) = a.apply(plan, real), a.apply(plan, fake)
    assert f1 == f2 == "jpeg" and (w1, h1) == (w2, h2) == (48, 40)
    assert jpeg_tables(d1) == jpeg_tables(d2)
    assert json.loads(plan.record()) == [{"op": "jpeg", "quality": 70, "subsampling": "4:2:0"}]
    # the quality really is 70: the tables equal those PIL writes for q=70
    ref = io.BytesIO()
    Image.fromarray(real).save(ref, format="JPEG", quality=70)
    assert jpeg_tables(d1) == jpeg_tables(ref.getvalue())


def test_png_is_lossless():
    rng = np.random.default_rng(1)
    px = rng.integers(0, 255, (16, 24, 3), dtype=np.uint8)
    a = Augmenter({}, matched=True, seed=0)
    data, fmt, _, _ = a.apply(a.plan("y"), px)
    assert fmt == "png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), px)
