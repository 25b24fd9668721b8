"""The offline demo's reals: crops of real photographs that ship inside scikit-image.

No dataset can be downloaded on an offline machine, yet the demo must run on natural images (a VAE
round-trip of noise or of drawings says little). scikit-image installs a handful of photographs in
its package folder; crops of random position, size and aspect ratio, drawn from (seed, index), give
as many distinct reals as asked. Each crop's origin (`skimage://<file>#crop=x,y,w,h`) is recorded.

Limitation stated in the card: crops of the same photograph overlap, so the demo's train and test
splits share content. It demonstrates the pipeline; it is not a benchmark.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import List

import numpy as np
from PIL import Image

from toolkit.config import validation as v
from toolkit.config.registry import SOURCES
from toolkit.sample import RealRef
from toolkit.seeding import rng_for
from toolkit.sources.base import Source

# name -> (file inside skimage/data, caption used for the real)
PHOTOS = {
    "astronaut": ("astronaut.png", "a portrait of an astronaut in a spacesuit in front of a flag"),
    "coffee": ("coffee.png", "a cup of coffee on a saucer with a spoon"),
    "chelsea": ("chelsea.png", "a tabby cat looking to the side"),
    "rocket": ("rocket.jpg", "a rocket launching from a launch pad"),
    "motorcycle": ("motorcycle_left.png", "a red motorcycle parked in a room"),
    "hubble": ("hubble_deep_field.jpg", "the Hubble deep field, many small galaxies on black"),
}


@dataclass
class BundledConfig:
    kind: str = "bundled"
    count: int = 200
    photos: List[str] = field(default_factory=lambda: list(PHOTOS))
    min_crop: int = 128  # crop short side range, in source pixels
    max_crop: int = 400
    max_aspect: float = 1.5  # crops range from 1:max_aspect to max_aspect:1

    def __post_init__(self):
        v.at_least("count", self.count, 1)
        if not self.photos:
            raise v.ConfigError(f"photos: needs at least one photograph (known: {', '.join(PHOTOS)})")
        for i, name in enumerate(self.photos):
            v.one_of(f"photos[{i}]", name, PHOTOS, what="photograph")
        if not 8 <= self.min_crop <= self.max_crop:
            raise v.ConfigError(f"min_crop: need 8 <= min_crop <= max_crop, got min_crop {self.min_crop}, "
                                f"max_crop {self.max_crop}")
        v.at_least("max_aspect", self.max_aspect, 1)


def photo_path(name: str) -> str:
    import skimage.data

    return os.path.join(os.path.dirname(skimage.data.__file__), PHOTOS[name][0])


@lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    with Image.open(photo_path(name)) as im:
        return np.asarray(im.convert("RGB"))


@SOURCES.register("bundled", BundledConfig)
class BundledSource(Source):
    kind = "bundled"

    def list(self):
        seed = self.recipe.seed
        for i in range(self.cfg.count):
            name = self.cfg.photos[i % len(self.cfg.photos)]
            h, w = _photo(name).shape[:2]
            rng = rng_for(seed, "bundled", i)
            short = int(rng.integers(min(self.cfg.min_crop, h, w), min(self.cfg.max_crop, h, w) + 1))
            aspect = float(np.exp(rng.uniform(-np.log(self.cfg.max_aspect), np.log(self.cfg.max_aspect))))
            cw, ch = (round(short * aspect), short) if aspect >= 1 else (short, round(short / aspect))
            cw, ch = min(cw, w), min(ch, h)
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            origin = f"skimage://{PHOTOS[name][0]}#crop={x},{y},{cw},{ch}"
            yield RealRef(origin=origin, caption=PHOTOS[name][1],
                          meta={"photo": name, "crop": [x, y, cw, ch], "index": i})

    def read(self, ref: RealRef) -> bytes:
        x, y, w, h = ref.meta["crop"]
        crop = _photo(ref.meta["photo"])[y : y + h, x : x + w]
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(crop), "RGB").save(buf, format="PPM")  # raw, lossless, instant
        return buf.getvalue()

    def describe(self) -> dict:
        import skimage

        photos = {n: PHOTOS[n][0] for n in self.cfg.photos}
        package = f"scikit-image {skimage.__version__}"
        names = ", ".join(f"`{f}`" for f in photos.values())
        return {"kind": self.kind, "package": package, "photos": photos,
                "card_reals": f": random crops of the photographs that ship with {package} ({names})",
                "card_limitations": (f"- **Demo content.** The reals are crops of {len(photos)} photographs; crops "
                                     "overlap, so train and test share content. This dataset demonstrates the "
                                     "pipeline; it is not a benchmark.\n"),
                "license": photos_license(sorted(set(photos.values())), package)}


# scikit-image's bundled photographs: (licence, who/where), from skimage.data's docstrings.
SKIMAGE_PHOTOS = {
    "astronaut.png": ("public domain", "NASA Great Images database (Eileen Collins), no known copyright restrictions"),
    "coffee.png": ("CC0", "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
    "chelsea.png": ("CC0", "Stefan van der Walt"),
    "rocket.jpg": ("public domain", "SpaceX, launch of DSCOVR on Falcon 9, released into the public domain"),
    "motorcycle_left.png": ("no licence stated (research use)",
                            "Middlebury 2014 stereo benchmark (Scharstein et al., GCPR 2014), down-sampled "
                            "by scikit-image; cite the benchmark"),
    "hubble_deep_field.jpg": ("public domain", "NASA / Hubble, may be freely used in the public domain"),
}


def photos_license(files: list[str], package: str) -> dict:
    """Each photograph keeps its own licence; any without a stated one makes the set research-only."""
    rows = [(f, *SKIMAGE_PHOTOS.get(f, ("unknown", "scikit-image data"))) for f in files]
    restricted = [f for f, lic, _ in rows if lic not in ("public domain", "CC0")]
    table = "\n".join(f"| `{f}` | {lic} | {who} |" for f, lic, who in rows)
    return {
        "license": "other",
        "license_name": "scikit-image-sample-photographs",
        "research_only": bool(restricted),
        "summary": ("The reals are crops of photographs bundled with scikit-image; each keeps its own "
                    "licence (below)." + (" Crops of " + ", ".join(f"`{f}`" for f in restricted) +
                                          " carry no stated licence: research use only." if restricted else "")),
        "text": ("Every real is a crop of one of these photographs, shipped with scikit-image "
                 f"({package}); every fake is derived from one real, and is "
                 "covered by the same terms as far as the generator's licence allows.\n\n"
                 "| photograph | licence | credit |\n|---|---|---|\n" + table + "\n"),
    }
