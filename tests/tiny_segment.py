"""A tiny random-weight semantic segmentation model (SegFormer) saved like a hub model, for `mask: object`.

Random weights label pixels in blobs that follow the image's colours; the tests compute the segments
themselves from the same saved model, so what is checked is the choice, the geometry and the records,
not segmentation quality."""

from __future__ import annotations

from pathlib import Path

LABELS = {0: "background", 1: "cat", 2: "dog", 3: "car"}


def build_tiny_segformer(path) -> str:
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    torch.manual_seed(0)
    cfg = SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                          patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2],
                          decoder_hidden_size=16, num_labels=len(LABELS), id2label=LABELS,
                          label2id={v: k for k, v in LABELS.items()})
    model = SegformerForSemanticSegmentation(cfg)
    with torch.no_grad():  # a louder head: random logits vary more across the image, giving several segments
        model.decode_head.classifier.weight.mul_(20.0)
    path = Path(path)
    model.save_pretrained(path)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(path)
    return str(path)
