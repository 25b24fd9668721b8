"""A tiny full CLIP (projection_dim in each tower's config too, as in openai's checkpoints, so the
single-tower classes load it) (image and text towers + tokenizer) saved with `save_pretrained`, for retrieval tests.

Loaded by path through the same `from_pretrained` calls a hub id (openai/clip-vit-large-patch14) takes:
`CLIPVisionModelWithProjection` for images, `CLIPTextModelWithProjection` + `AutoTokenizer` for captions."""

from __future__ import annotations

from pathlib import Path


def build_tiny_clip_full(path, seed: int = 0) -> str:
    import torch
    from transformers import CLIPConfig, CLIPModel

    from tiny_sd import tiny_clip_tokenizer

    path = Path(path)
    tok = tiny_clip_tokenizer(path.parent / f"{path.name}_tok_src")
    cfg = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                         vocab_size=len(tok), max_position_embeddings=77, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, projection_dim=16),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                           image_size=32, patch_size=4, projection_dim=16),
        projection_dim=16)
    torch.manual_seed(seed)
    CLIPModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
