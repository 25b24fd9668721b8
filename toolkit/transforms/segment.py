"""Object masks (`mask: object`): a segmentation model finds the objects of the real, and one of them,
chosen from the pair's seeded RNG, becomes the inpainting mask.

Why a model and not a box: B-Free's content augmentation replaces *an object* with another of the same
category (grip-unina/B-Free, training_data/README.md:29: "object masks used for the generation of
inpainted_samecat"); a box (`mask: rectangle`) is its other case (a different category). The mask is the
object's own silhouette, so a localisation model trained on the `mask` column learns object-shaped
regions, not only boxes.

The model is any transformers segmentation model, by hub id or local path:
- a universal (panoptic / instance) model, `AutoModelForUniversalSegmentation` (Mask2Former, MaskFormer,
  OneFormer, ...; e.g. `facebook/mask2former-swin-tiny-coco-panoptic`): its processor's
  `post_process_panoptic_segmentation` gives the segments (one per object instance, each with a label);
- a semantic model, `AutoModelForSemanticSegmentation` (SegFormer, DPT, UperNet, ...; e.g.
  `nvidia/segformer-b0-finetuned-ade-512-512`): `post_process_semantic_segmentation` gives a label per
  pixel, and every 8-connected region of one label is a segment (a semantic model has no instances; a
  connected region is the closest thing to "an object").

The segmentation is computed on the pair's aligned real (its exact geometry: the post-processing
resizes the model's logits to the real's height x width), in float32 and eval mode, so it depends on
nothing but the real's pixels. The choice depends on nothing but the pair: candidates are the segments
whose area fraction lies in `area` (and whose label is in `labels`, when given), sorted by (label id,
first pixel in raster order), and one is drawn with `rng_for(seed, pair_id, name, "mask")`.

No candidate (an empty scene, every object too small or too large, none of the listed categories) is
`DropSample("mask_no_object")`: the pair is dropped and counted, never silently given another mask shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.errors import DropSample, first_line


@dataclass
class Segment:
    label_id: int
    label: str
    mask: np.ndarray  # H x W bool at the pair's size

    @property
    def fraction(self) -> float:
        return float(self.mask.mean())

    @property
    def first_pixel(self) -> int:
        return int(np.flatnonzero(self.mask.ravel())[0])


class Segmenter:
    """A transformers segmentation model and its processor, loaded once per generator."""

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu"):
        import transformers
        from transformers.models.auto.modeling_auto import MODEL_FOR_UNIVERSAL_SEGMENTATION_MAPPING_NAMES

        kwargs = {"revision": revision} if revision else {}
        self.model_id = model
        self.device = device
        try:
            config = transformers.AutoConfig.from_pretrained(model, **kwargs)
            universal = config.model_type in MODEL_FOR_UNIVERSAL_SEGMENTATION_MAPPING_NAMES
            auto = (transformers.AutoModelForUniversalSegmentation if universal
                    else transformers.AutoModelForSemanticSegmentation)
            net = auto.from_pretrained(model, **kwargs)
            self.processor = transformers.AutoImageProcessor.from_pretrained(model, **kwargs)
        except (OSError, ValueError) as e:  # the generator's loader shows the first line: name the segmenter
            first = first_line(e)
            raise ValueError(f"segmenter {model!r}: cannot load as a panoptic/instance or semantic segmentation "
                             f"model ({first})") from None
        self.kind = "panoptic" if universal else "semantic"
        self.net = net.to(device).eval()
        self.id2label = {int(k): str(v) for k, v in net.config.id2label.items()}

    def label_ids(self, labels) -> set[int]:
        """Category names (case-insensitive) or ids -> ids; an unknown one is a ValueError naming it."""
        by_name = {v.lower(): k for k, v in self.id2label.items()}
        out = set()
        for x in labels:
            if isinstance(x, int) and x in self.id2label:
                out.add(x)
            elif str(x).lower() in by_name:
                out.add(by_name[str(x).lower()])
            else:
                known = ", ".join(sorted(self.id2label.values())[:12])
                raise ValueError(f"object_labels: {x!r} is not a label of {self.model_id} (labels: {known}, ...)")
        return out

    def segments(self, real: np.ndarray) -> list[Segment]:
        """Every segment of the real (H x W x 3 uint8), as masks at the real's size."""
        import torch
        from PIL import Image

        h, w = real.shape[:2]
        inputs = self.processor(images=[Image.fromarray(real, "RGB")], return_tensors="pt")
        with torch.inference_mode():
            outputs = self.net(**{k: v.to(self.device) for k, v in inputs.items()})
        if self.kind == "panoptic":
            res = self.processor.post_process_panoptic_segmentation(outputs, target_sizes=[(h, w)],
                                                                    label_ids_to_fuse=set())[0]
            seg = res["segmentation"].cpu().numpy()
            out = []
            for info in res["segments_info"]:
                m = seg == info["id"]
                if m.any():
                    lid = int(info["label_id"])
                    out.append(Segment(lid, self.id2label.get(lid, str(lid)), m))
            return out
        from scipy import ndimage

        labels = self.processor.post_process_semantic_segmentation(outputs, target_sizes=[(h, w)])[0].cpu().numpy()
        out = []
        for lid in np.unique(labels):
            regions, n = ndimage.label(labels == lid, structure=np.ones((3, 3), bool))
            for r in range(1, n + 1):
                out.append(Segment(int(lid), self.id2label.get(int(lid), str(lid)), regions == r))
        return out


def choose_object(segments: list[Segment], rng: np.random.Generator, area=(0.05, 0.5),
                  label_ids: set[int] | None = None) -> tuple[np.ndarray, dict]:
    """One segment as a 0/255 uint8 mask + its provenance; `DropSample("mask_no_object")` if none fits."""
    fits = [s for s in segments if area[0] <= s.fraction <= area[1] and (label_ids is None or s.label_id in label_ids)]
    if not fits:
        seen = ", ".join(f"{s.label} {s.fraction:.3f}" for s in sorted(segments, key=lambda s: -s.fraction)[:5])
        raise DropSample("mask_no_object", f"no segment with an area fraction in [{area[0]:g}, {area[1]:g}]"
                         + (" and a listed label" if label_ids is not None else "")
                         + f" among {len(segments)} ({seen or 'none'})")
    fits.sort(key=lambda s: (s.label_id, s.first_pixel))
    pick = fits[int(rng.integers(0, len(fits)))]
    mask = np.where(pick.mask, 255, 0).astype(np.uint8)
    info = {"object_label_id": pick.label_id, "object_label": pick.label, "object_area": round(pick.fraction, 6),
            "object_candidates": len(fits), "segments": len(segments), "mask_fraction": round(pick.fraction, 6)}
    return mask, info
