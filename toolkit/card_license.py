"""What a card may claim about the rights to its images, per source of reals.

The licence of a dataset of pairs is the licence of its reals (each fake is a derivative of one real),
plus whatever the generator's licence says about its outputs. The toolkit knows the first only where
it ships the images: the photographs bundled with scikit-image carry licences stated in scikit-image's
own docstrings. For reals downloaded from LAION URLs the rights of each image belong to its owner and
are unknown: the card says `license: other`, names that situation, links the statement (written to
meta/LICENSE.md) and marks the data for research use only. A folder of images is the publisher's: the
card says the licence is unknown until the publisher states it.
"""

from __future__ import annotations

LICENSE_FILE = "meta/LICENSE.md"

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


def license_info(source: dict) -> dict:
    """`{license, license_name, license_link, research_only, summary, text}` for a source's describe()."""
    kind = source.get("kind")
    if isinstance(source.get("license"), dict):  # a source that knows its own licence says so
        lic = dict(source["license"])
        lic.setdefault("research_only", False)
        lic.setdefault("text", lic.get("summary", ""))
        return lic
    if kind == "bundled":
        files = sorted(set((source.get("photos") or {}).values()))
        rows = [(f, *SKIMAGE_PHOTOS.get(f, ("unknown", "scikit-image data"))) for f in files]
        restricted = [f for f, lic, _ in rows if lic not in ("public domain", "CC0")]
        table = "\n".join(f"| `{f}` | {lic} | {who} |" for f, lic, who in rows)
        return {
            "license": "other",
            "license_name": "scikit-image-sample-photographs",
            "license_link": LICENSE_FILE,
            "research_only": bool(restricted),
            "summary": ("The reals are crops of photographs bundled with scikit-image; each keeps its own "
                        "licence (below)." + (" Crops of " + ", ".join(f"`{f}`" for f in restricted) +
                                              " carry no stated licence: research use only." if restricted else "")),
            "text": ("Every real is a crop of one of these photographs, shipped with scikit-image "
                     f"({source.get('package', 'scikit-image')}); every fake is derived from one real, and is "
                     "covered by the same terms as far as the generator's licence allows.\n\n"
                     "| photograph | licence | credit |\n|---|---|---|\n" + table + "\n"),
        }
    if kind == "laion":
        return {
            "license": "other",
            "license_name": "laion-derived-unknown-rights-research-only",
            "license_link": LICENSE_FILE,
            "research_only": True,
            "summary": ("The reals were downloaded from the URLs of a LAION-style list. The rights to each "
                        "image belong to its owner and are **unknown** (LAION distributes links, not licences). "
                        "This dataset is provided **for research only**."),
            "text": ("The real images were downloaded from third-party web servers listed in a LAION-style URL "
                     "list (LAION publishes URLs and captions under CC-BY 4.0; it grants no rights to the images "
                     "behind them). The copyright and any other rights to each image, and to each fake derived "
                     "from it, remain with the image's owner and are unknown per image.\n\n"
                     "Use is restricted to non-commercial scientific research on the detection of AI-generated "
                     "images. Do not redistribute the images outside that purpose. A rights holder who wants an "
                     "image removed can ask the publisher of this repository; every row's `origin` column holds "
                     "the URL it came from, so an image can be found and removed.\n"),
        }
    return {
        "license": "other",
        "license_name": "unknown-rights",
        "license_link": LICENSE_FILE,
        "research_only": True,
        "summary": (f"The reals come from a `{kind}` source whose licence the toolkit cannot know: the rights to "
                    "each image are those of its owner. Until the publisher states a licence, treat the data as "
                    "**for research only**."),
        "text": ("The reals were read from a location the publisher chose; the toolkit records where each came "
                 "from (`origin` column) but not its licence. The rights to each image, and to each fake derived "
                 "from it, remain with the image's owner. Until the publisher replaces this statement, use is "
                 "restricted to research.\n"),
    }


def license_markdown(name: str, lic: dict) -> str:
    return (f"# Licence of {name}\n\n`license: {lic['license']}`, `license_name: {lic['license_name']}`\n\n"
            f"{lic['text']}\n"
            "The fakes were produced by the model(s) listed in the dataset card; check each model's own licence "
            "for terms on its outputs.\n")
