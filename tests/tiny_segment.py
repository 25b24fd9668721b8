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


def build_tiny_mask2former(path) -> str:
    """A tiny random Mask2Former (panoptic, `AutoModelForUniversalSegmentation`) with one query whose class
    score is pushed to 'cat': post-processing keeps exactly that one segment (random queries would all fall
    under its score and overlap thresholds)."""
    import torch
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor, SwinConfig

    torch.manual_seed(0)
    labels = {0: "cat", 1: "dog"}
    swin = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                      window_size=4, out_features=["stage1", "stage2", "stage3", "stage4"])
    cfg = Mask2FormerConfig(backbone_config=swin, hidden_dim=32, feature_size=32, mask_feature_size=32,
                            encoder_feedforward_dim=32, dim_feedforward=32, encoder_layers=1, decoder_layers=2,
                            num_attention_heads=1, num_queries=1, num_labels=2, id2label=labels,
                            label2id={v: k for k, v in labels.items()}, use_pretrained_backbone=False)
    model = Mask2FormerForUniversalSegmentation(cfg)
    with torch.no_grad():
        model.class_predictor.bias.copy_(torch.tensor([4.0, -4.0, -4.0]))  # cat, dog, no-object
    path = Path(path)
    model.save_pretrained(path)
    Mask2FormerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(path)
    return str(path)
