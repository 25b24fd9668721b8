"""The catalogue of drop reasons: every reason a pair (or a listed real) can be dropped for, with what it
means. The card renders the build's drops with these descriptions; `check(reason)` is called where
drops are counted, and under `TOOLKIT_STRICT_DROP_REASONS=1` (set by the test suite) an uncatalogued
reason fails loudly, so a new reason cannot ship without its line here
(tests/test_drop_reasons.py also scans the code for reason literals).

Where a drop is kept: per shard in `meta/drops/<split>-NNNNN.parquet` (pair_id, origin, reason, detail:
every one), counted in the shard record and summed in `meta/summary.json`; listing drops (filters,
download failures, duplicates) are counted in `meta/build.json` and, for LAION, `meta/laion/stats.json`.
"""

from __future__ import annotations

import os
import re

# reason -> (stage, what it means)
REASONS: dict[str, tuple[str, str]] = {
    # listing (every source)
    "duplicate_origin": ("listing", "the source listed the same origin twice; the first is kept"),
    # listing: LAION URL lists, before download
    "missing_url": ("listing", "the URL list row has no URL"),
    "unsupported_scheme": ("listing", "not an http/https URL (file://, data:, a path, ...): never fetched"),
    "filter_too_small": ("listing", "listed width/height below the minimum"),
    "filter_aspect_ratio": ("listing", "listed aspect ratio above `max_aspect_ratio`"),
    "filter_punsafe": ("listing", "NSFW score above `max_punsafe`"),
    "filter_punsafe_unknown": ("listing", "no NSFW score while `max_punsafe` is set"),
    "filter_pwatermark": ("listing", "watermark score above `max_pwatermark`"),
    "filter_pwatermark_unknown": ("listing", "no watermark score while `max_pwatermark` is set"),
    "duplicate_url": ("listing", "the same URL earlier in the list"),
    # listing: LAION downloads
    "timeout": ("download", "the server did not answer within `reals.timeout`"),
    "deadline_exceeded": ("download", "the whole download took longer than `reals.deadline`"),
    "too_large": ("download", "the body exceeded `reals.max_bytes`"),
    "private_address": ("download", "the host is not a public internet address (loopback, private, link-local); "
                                    "`reals.allow_private_addresses: true` allows it"),
    "robots_disallowed": ("download", "the server opted out (X-Robots-Tag noai/noindex...)"),
    "incomplete_read": ("download", "the connection ended before the declared length"),
    "invalid_url": ("download", "the URL cannot be fetched as written"),
    "dns_error": ("download", "the host name does not resolve"),
    "connection_refused": ("download", "the host refused the connection"),
    "connection_reset": ("download", "the host reset the connection"),
    "connection_closed": ("download", "the host closed the connection without answering"),
    "ssl_error": ("download", "TLS failed (certificate, protocol)"),
    "hash_mismatch": ("download", "the bytes differ from the list's hash"),
    "duplicate_content": ("download", "byte-identical to an earlier real (sha256); the first is kept"),
    # reading and aligning a real
    "read_error": ("read", "the stored bytes could not be read back (or differ from the download)"),
    "empty_file": ("align", "0 bytes"),
    "not_an_image": ("align", "the bytes are not an image Pillow can open (HTML served as image/jpeg, ...)"),
    "truncated": ("align", "the image file is cut short"),
    "decode_error": ("align", "the image could not be decoded or converted to RGB"),
    "decompression_bomb": ("align", "more pixels than `image.max_pixels`"),
    "too_small": ("align", "short side below `image.min_size`"),
    "poison_crash": ("read", "reading this sample killed its sandbox process (segfault, abort, OOM)"),
    "poison_timeout": ("read", "reading this sample hung past the sandbox's time limit"),
    # shader reals
    "shader_timeout": ("render", "the frame took longer than the time limit"),
    "shader_render_error": ("render", "the renderer failed on this frame"),
    "shader_crash": ("render", "the render process died on this frame"),
    "shader_compile_error": ("render", "the program no longer compiles (it did when listed)"),
    "shader_changed": ("render", "the program's source changed since it was listed"),
    "shader_nan": ("render", "the frame has NaN/inf values"),
    "degenerate_constant": ("render", "the frame is one flat value"),
    "degenerate_one_colour": ("render", "the frame is (almost) one colour"),
    # fakes and features
    "generator_error": ("fake", "the generator raised on this sample alone (the batch was retried per sample)"),
    "generator_nonfinite": ("fake", "NaN/inf in the generator's output"),
    "nsfw_filtered": ("fake", "the pipeline's safety checker flagged the output"),
    "no_caption": ("fake", "the generator prompts with the real's caption; the real has none and no captioner "
                   "(or fixed `prompt`) is set"),
    "mask_degenerate": ("fake", "the inpainting mask drawn for this pair covers no pixel (a tiny image or area)"),
    "mask_no_object": ("fake", "`mask: object`: the segmentation model found no object of the allowed area "
                       "(`object_area`) and categories (`object_labels`) in this real"),
    "caption_error": ("caption", "the captioner failed on this real"),
    "feature_error": ("features", "a per-row feature (e.g. DDIM inversion) failed for a member of the pair"),
}

# families of reasons with a variable part
PATTERNS: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"http_\d{3}$"), "download", "the server answered with this HTTP status"),
    (re.compile(r"download_error:[a-z_]+$"), "download", "another download failure (img2dataset's message, normalised)"),
]


def describe(reason: str) -> tuple[str, str] | None:
    """(stage, meaning) of a reason, or None when it is not in the catalogue."""
    if reason in REASONS:
        return REASONS[reason]
    for pattern, stage, text in PATTERNS:
        if pattern.match(reason):
            return stage, text
    return None


def check(reason: str) -> str:
    """`reason`, after checking it is catalogued when `TOOLKIT_STRICT_DROP_REASONS=1`."""
    if os.environ.get("TOOLKIT_STRICT_DROP_REASONS") == "1" and describe(reason) is None:
        raise AssertionError(f"drop reason {reason!r} is not in toolkit/engine/drops.py's catalogue")
    return reason


def table(dropped: dict[str, int]) -> list[dict]:
    """Rows for the card: reason, count, stage, meaning."""
    rows = []
    for reason, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])):
        stage, text = describe(reason) or ("?", "(not in the catalogue)")
        rows.append({"reason": reason, "count": n, "stage": stage, "meaning": text})
    return rows
