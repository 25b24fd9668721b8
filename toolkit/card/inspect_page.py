"""A static, self-contained HTML page to browse a build's pairs: real | fake(s) | difference map.

Why static files and not a server: it opens from disk (or any web host) with no toolkit installed,
works offline, and can be attached to a review. Images are written as the exact stored bytes (PNG,
JPEG or WebP: the browser shows what a detector reads); difference maps are |real - fake| x gain as
PNG; in builds with masks each fake's mask (the stored label, white = generated) is shown beside it.
Filters (split, source, augmentation, format) are a few lines of inline JavaScript over data attributes;
nothing is fetched from the network.

Filters can be preset from the URL fragment (`index.html#augment=jpeg&split=test`). The page logs `toolkit-inspect: ready ...` to the console once every image has loaded, and an error
for any image that failed: the headless-browser test reads those lines.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from toolkit.card.stats import augment_name
from toolkit.card.figures import DIFF_GAIN, decode, diff_image, grid_png, psnr, read_pairs

EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 16px; color: #222; }}
header {{ position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #ddd; }}
label {{ margin-right: 12px; }}
.pair {{ display: inline-block; vertical-align: top; margin: 8px; padding: 6px; border: 1px solid #ddd;
         border-radius: 4px; }}
.pair.hidden {{ display: none; }}
.row {{ display: flex; gap: 4px; }}
figure {{ margin: 0; text-align: center; font-size: 11px; }}
img {{ width: {cell}px; height: {cell}px; object-fit: contain; image-rendering: pixelated; background: #eee; }}
.meta {{ font-size: 11px; color: #555; max-width: {meta_w}px; overflow-wrap: anywhere; }}
</style></head>
<body>
<header>
<b>{title}</b> &middot; {n_pairs} pairs shown of {total_pairs} &middot; difference maps are |real &minus; fake| &times; {gain}
&middot; <a href="grid.png">sample grid</a>
<br>{filters} <span id="count"></span>
</header>
<main>
{cards}
</main>
<script>
const selects = Array.from(document.querySelectorAll("select[data-key]"));
function apply() {{
  let shown = 0;
  for (const el of document.querySelectorAll(".pair")) {{
    const ok = selects.every(s => s.value === "" || (el.dataset[s.dataset.key] || "").split(" ").includes(s.value));
    el.classList.toggle("hidden", !ok);
    if (ok) shown++;
  }}
  document.getElementById("count").textContent = shown + " shown";
  document.body.dataset.shown = shown;
}}
// filters can be preset from the URL: index.html#source=vae_roundtrip&augment=jpeg
const preset = new URLSearchParams(location.hash.slice(1));
selects.forEach(s => {{ if (preset.has(s.dataset.key)) s.value = preset.get(s.dataset.key); }});
selects.forEach(s => s.addEventListener("change", apply));
apply();
window.addEventListener("load", () => {{
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0);
  broken.forEach(i => console.error("toolkit-inspect: image failed to load: " + i.getAttribute("src")));
  console.log("toolkit-inspect: ready, " + (imgs.length - broken.length) + " of " + imgs.length + " images loaded");
}});
</script>
</body></html>
"""


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _select(key: str, label: str, values: set[str]) -> str:
    opts = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in sorted(values))
    return f'<label>{label} <select data-key="{key}"><option value="">all</option>{opts}</select></label>'


def write_inspect(out, dest: Path, max_pairs: int = 100, cell: int = 160) -> dict:
    """Write dest/index.html, dest/grid.png and dest/img/*; return what was written."""
    from toolkit.store.layout import SUMMARY_FILE

    summary = out.read_json(SUMMARY_FILE) if out.exists(SUMMARY_FILE) else {}
    pairs = read_pairs(out, max_pairs=max_pairs)
    img_dir = dest / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    (dest / "grid.png").write_bytes(grid_png(pairs[:8]))
    cards, values = [], {"split": set(), "source": set(), "augment": set(), "format": set()}
    n_files = 0
    for p in pairs:
        real = p["real"]
        real_px = decode(real)
        aug = augment_name(real["augment"])
        sources = [f["source"] for f in p["fakes"]]
        formats = sorted({real["format"], *(f["format"] for f in p["fakes"])})
        values["split"].add(p["split"])
        values["source"].update(sources)
        values["augment"].add(aug)
        values["format"].update(formats)
        pid = p["pair_id"]
        name = f"{pid}_real.{EXT.get(real['format'], 'bin')}"
        (img_dir / name).write_bytes(real["image"]["bytes"])  # the stored bytes, as a user gets them
        figs = [f'<figure><img src="img/{name}" alt="real"><figcaption>real ({real["format"]})</figcaption></figure>']
        n_files += 1
        details = []
        for f in p["fakes"]:
            fname = f"{pid}_{f['source']}.{EXT.get(f['format'], 'bin')}"
            (img_dir / fname).write_bytes(f["image"]["bytes"])
            fake_px = decode(f)
            same = fake_px.shape == real_px.shape
            dname = f"{pid}_{f['source']}_diff.png"
            (img_dir / dname).write_bytes(_png(diff_image(real_px, fake_px) if same else np.zeros_like(real_px)))
            n_files += 2
            q = f"{psnr(real_px, fake_px):.1f} dB" if same else "size differs!"
            figs.append(f'<figure><img src="img/{fname}" alt="fake"><figcaption>{html.escape(f["source"])} '
                        f'({f["format"]})</figcaption></figure>')
            figs.append(f'<figure><img src="img/{dname}" alt="difference"><figcaption>diff x{DIFF_GAIN}, '
                        f'PSNR {q}</figcaption></figure>')
            mask = (f.get("mask") or {}).get("bytes")
            if mask:  # builds with masks: the stored label (white = generated), beside its fake
                mname = f"{pid}_{f['source']}_mask.png"
                (img_dir / mname).write_bytes(mask)
                n_files += 1
                with Image.open(io.BytesIO(mask)) as im:
                    share = float(np.asarray(im).astype(bool).mean())
                figs.append(f'<figure><img src="img/{mname}" alt="mask"><figcaption>mask, {100 * share:.0f}% '
                            'generated</figcaption></figure>')
            details.append(f"{html.escape(f['source'])}: {html.escape(str(f.get('generator')))}")
        meta = (f"<b>{pid}</b> &middot; {html.escape(p['split'])} &middot; {real['width']}x{real['height']} &middot; "
                f"augment <code>{html.escape(real['augment'])}</code><br>"
                f"{html.escape(real.get('caption') or '')}<br>origin: {html.escape(real['origin'])}<br>"
                + "<br>".join(details))
        attrs = (f'data-split="{html.escape(p["split"])}" data-source="{html.escape(" ".join(sources))}" '
                 f'data-augment="{html.escape(aug)}" data-format="{html.escape(" ".join(formats))}"')
        cards.append(f'<div class="pair" {attrs}><div class="row">{"".join(figs)}</div>'
                     f'<div class="meta">{meta}</div></div>')
    filters = " ".join(_select(k, k, v) for k, v in values.items())
    title = f"{summary.get('name', 'dataset')}: aligned pairs"
    n_cols = 1 + max((sum(2 + bool((f.get("mask") or {}).get("bytes")) for f in p["fakes"]) for p in pairs),
                     default=2)
    page = PAGE.format(title=html.escape(title), n_pairs=len(pairs), total_pairs=summary.get("pairs", "?"),
                       gain=DIFF_GAIN, filters=filters, cards="\n".join(cards), cell=cell,
                       meta_w=n_cols * (cell + 4))
    (dest / "index.html").write_text(page, encoding="utf-8")
    info = {"index": str(dest / "index.html"), "grid": str(dest / "grid.png"), "pairs": len(pairs),
            "images": n_files, "filters": {k: sorted(v) for k, v in values.items()}}
    (dest / "inspect.json").write_text(json.dumps(info, indent=1))
    return info
