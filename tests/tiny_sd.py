"""Tiny Stable Diffusion and BLIP models built offline, saved with `save_pretrained`.

Why: the generators load models with `from_pretrained(model_id_or_path)`. A test that saves a tiny,
randomly initialised model of the same *family* (same classes, same `model_index.json` layout, a
CLIP tokenizer capped at 77 tokens) and passes its directory exercises exactly the code path a hub id
takes, with no network and in seconds on a CPU. The weights are random, so the images are noise;
what is tested is plumbing, geometry, seeding and bookkeeping, not picture quality.

`build_tiny_sd(path)` is a plain function (not a fixture) so other features (FakeInversion, ...) can
reuse it from their own fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode table (the base alphabet of a byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_clip_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A character-level CLIP BPE vocabulary: every byte, alone and word-final, plus a few merges.

    Every character is (nearly) one token, so a caption of ~80 characters already exceeds the text
    encoder's 77-token window: convenient for the truncation test."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = ["t h", "th e</w>", "o f</w>"]
    for m in merges:
        vocab.setdefault(m.replace(" ", ""), len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps(vocab))
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return vocab_file, merges_file


def tiny_clip_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    write_clip_tokenizer_files(folder)
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def tiny_safety_checker(flag_all: bool):
    """A StableDiffusionSafetyChecker with a tiny CLIP vision tower. Its concept thresholds are set so
    that every image is flagged (`flag_all`) or none is: diffusers then returns flagged images black
    and reports them in `nsfw_content_detected`, exactly as the real checker does."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    cfg = CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
                         vocab_size=100, max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
                           image_size=32, patch_size=8),
        projection_dim=16)
    checker = StableDiffusionSafetyChecker(cfg).eval()
    with torch.no_grad():
        threshold = -10.0 if flag_all else 10.0  # score = cos - threshold: > 0 always / never
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(10.0)
    extractor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return checker, extractor


def _tiny_sd_parts(path: Path, seed: int, unet_in_channels: int) -> dict:
    """UNet, VAE, CLIP text encoder + tokenizer and PNDM scheduler of the tiny SD family (shared by the
    text-to-image and the inpainting pipelines; the inpainting UNet takes 9 input channels)."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, sample_size=8, in_channels=unet_in_channels,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4, sample_size=64)
    tokenizer = tiny_clip_tokenizer(path.parent / f"{path.name}_tokenizer_src")
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(tokenizer), max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1)
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


def build_tiny_sd(path, safety_checker: str | None = None, seed: int = 0) -> str:
    """Build a tiny StableDiffusionPipeline and `save_pretrained` it to `path`; return the path.

    Same family shape as SD v1.5: 4 latent channels, VAE downsampling 8, a CLIP text encoder with a
    77-token window feeding the UNet's cross-attention, PNDM scheduler as in SD v1.5's own folder.
    `safety_checker`: None (none saved), "flag_all" or "flag_none" (a tiny real checker)."""
    from diffusers import StableDiffusionPipeline

    path = Path(path)
    parts = _tiny_sd_parts(path, seed, unet_in_channels=4)
    checker, extractor = (None, None)
    if safety_checker is not None:
        if safety_checker not in ("flag_all", "flag_none"):
            raise ValueError(f"safety_checker must be None, 'flag_all' or 'flag_none', got {safety_checker!r}")
        checker, extractor = tiny_safety_checker(flag_all=safety_checker == "flag_all")
    pipe = StableDiffusionPipeline(**parts, safety_checker=checker, feature_extractor=extractor,
                                   requires_safety_checker=False)
    pipe.save_pretrained(path)
    return str(path)


def build_tiny_sd_inpaint(path, seed: int = 0) -> str:
    """A tiny StableDiffusionInpaintPipeline saved to `path` (returned): the UNet takes 9 input channels
    (noisy latent 4 + mask 1 + masked-image latent 4), as SD 1.5/2 inpainting and diffusers' own
    inpainting tests; the rest is `build_tiny_sd`'s family (VAE downsampling 8, CLIP tokenizer, PNDM)."""
    from diffusers import StableDiffusionInpaintPipeline

    path = Path(path)
    pipe = StableDiffusionInpaintPipeline(**_tiny_sd_parts(path, seed, unet_in_channels=9), safety_checker=None,
                                          feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(path)
    return str(path)


def build_tiny_blip(path, seed: int = 0) -> str:
    """A tiny BlipForConditionalGeneration + BlipProcessor (BlipImageProcessor and a BERT tokenizer from
    a small vocab.txt written here), saved with `save_pretrained`; returns the path."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor)

    path = Path(path)
    src = path.parent / f"{path.name}_vocab_src"
    src.mkdir(parents=True, exist_ok=True)
    words = ["a", "photo", "of", "cat", "dog", "tree", "red", "blue", "house", "sky", "with", "the", "on",
             "small", "large", "green", "car", "road", "man", "woman", "sea", "field", "flower", "bird"]
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    (src / "vocab.txt").write_text("\n".join(special + words) + "\n")
    tok = BertTokenizer.from_pretrained(str(src), do_lower_case=True, bos_token="[DEC]", model_max_length=32)
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tok)
    vocab = tok.get_vocab()
    cfg = BlipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, encoder_hidden_size=32,
                         pad_token_id=vocab["[PAD]"], bos_token_id=vocab["[DEC]"], eos_token_id=vocab["[SEP]"],
                         sep_token_id=vocab["[SEP]"]),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=32)
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # random weights: make greedy decoding emit words, never special tokens
        for tok_ in special:
            model.text_decoder.cls.predictions.bias[vocab[tok_]] = -1e4
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)


def build_tiny_blip2(path, seed: int = 0) -> str:
    """A tiny Blip2ForConditionalGeneration (ViT + Q-Former + OPT decoder) + Blip2Processor, saved with
    `save_pretrained`; the OPT tokenizer is a byte-level BPE from the CLIP-style files above."""
    import torch
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor,
                              GPT2Tokenizer)

    path = Path(path)
    src = path.parent / f"{path.name}_tok_src"
    src.mkdir(parents=True, exist_ok=True)
    table = _bytes_to_unicode()
    chars = [table[b] for b in range(ord("a"), ord("z") + 1)] + [table[ord(" ")]]  # readable captions
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    (src / "vocab.json").write_text(json.dumps(vocab))
    (src / "merges.txt").write_text("#version: 0.2\n")
    tok = GPT2Tokenizer.from_pretrained(str(src), bos_token="</s>", eos_token="</s>", pad_token="<pad>",
                                        unk_token="<unk>")
    n_query = 4
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}),
                               tokenizer=tok, num_query_tokens=n_query)
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    cfg = Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        qformer_config=dict(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=37, encoder_hidden_size=32),
        text_config=dict(model_type="opt", vocab_size=len(processor.tokenizer), hidden_size=32, ffn_dim=37,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=64,
                         word_embed_proj_dim=32, bos_token_id=1, eos_token_id=1, pad_token_id=0),
        num_query_tokens=n_query, image_token_index=image_token)
    torch.manual_seed(seed)
    model = Blip2ForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # random weights: special tokens get logit 0, below the best letter's
        for t in (0, 1, 2, image_token):  # (OPT ties its output head to the input embeddings)
            model.language_model.get_output_embeddings().weight[t] = 0.0
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)
