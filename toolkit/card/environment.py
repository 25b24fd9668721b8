"""Library versions that decide a build's bytes, recorded at the end of the build (meta/environment.json).

Pixels depend on torch/diffusers (the generator), Pillow and its codec libraries (decode, resize,
JPEG/WebP encode: libjpeg-turbo 2 and 3 differ in bytes), numpy. The card shows the versions *of the
build*, so `toolkit card OUT` re-rendering later on another machine reads them from disk rather than
from its own environment. Versions come from package metadata (no import of torch: this runs on the
client at the end of every build and must stay cheap).
"""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from toolkit import __version__

PACKAGES = ["torch", "diffusers", "transformers", "datasets", "huggingface_hub", "pillow", "numpy", "pyarrow",
            "scikit-image", "img2dataset"]
ENV_FILE = "meta/environment.json"


def _version(pkg: str):
    try:
        return version(pkg)
    except PackageNotFoundError:
        return None


def capture() -> dict:
    from PIL import features

    codecs = {}
    for name, fn in (("libjpeg", lambda: features.version("jpg")),
                     ("libjpeg_turbo", lambda: features.version_feature("libjpeg_turbo")),
                     ("libwebp", lambda: features.version("webp")), ("zlib", lambda: features.version("zlib"))):
        try:
            v = fn()
        except Exception:  # noqa: BLE001 - a codec Pillow was built without
            v = None
        if v is not None:
            codecs[name] = v
    return {"toolkit": __version__, "python": platform.python_version(), "platform": sys.platform,
            "packages": {p: _version(p) for p in PACKAGES}, "codecs": codecs}
