"""A static, self-contained HTML page to browse a build's pairs: real | fake(s) | difference map.

Why static files and not a server: it opens from disk (or any web host) with no toolkit installed,
works offline, and can be attached to a review. Images are written as the exact stored bytes (PNG,
JPEG or WebP: the browser shows what a detector reads); in builds with masks each fake's mask (the
stored label, white = generated) is shown beside it. Nothing is fetched from the network.

For pixel work:
- difference maps are stored as |real - fake| per channel at gain 1 (lossless PNG) and multiplied on the
  page by a CSS `brightness()` filter set by a gain slider. A canvas would compute the same, but browsers
  refuse to read back pixels of images opened from `file://` (a tainted canvas), and the page must work
  from disk. The default gain is the largest power of two at which at most 1% of the values shown
  saturate (`default_gain`), so faint differences are visible without a fixed x8 clipping strong ones;
- a click on any image opens the pair full size: every member at 1:1, zoom 2-16x with square pixels;
- pairs sort by PSNR (the worst fake's), split, source or augmentation, in the cards and in a table of
  pairs whose columns sort on click;
- the augmentation is written out (`blur (sigma 0.8) → jpeg (quality 71)`; the JSON as a tooltip).

Filters, sort, gain and the full-size view can be preset from the URL fragment
(`index.html#augment=jpeg&split=test&sort=psnr-asc&gain=16&open=PAIR_ID&zoom=4`); presets go through the
controls' own event handlers. The page logs `toolkit-inspect: ready ...` to the console once every image
has loaded, and an error for any image that failed: the headless-browser tests read those lines and the
DOM (`data-shown`, `data-sort`, `data-gain` on the body).
"""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from toolkit.card.stats import augment_name
from toolkit.card.figures import decode, diff_image, grid_png, psnr, read_pairs

EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 16px; color: #222; }}
header {{ position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #ddd; z-index: 2; }}
label {{ margin-right: 12px; }}
#gain {{ vertical-align: middle; width: 180px; }}
.pair {{ display: inline-block; vertical-align: top; margin: 8px; padding: 6px; border: 1px solid #ddd;
         border-radius: 4px; }}
.pair.hidden, tr.hidden {{ display: none; }}
.row {{ display: flex; gap: 4px; }}
figure {{ margin: 0; text-align: center; font-size: 11px; }}
.pair img {{ width: {cell}px; height: {cell}px; object-fit: contain; image-rendering: pixelated; background: #eee;
            cursor: zoom-in; }}
.meta {{ font-size: 11px; color: #555; max-width: {meta_w}px; overflow-wrap: anywhere; }}
.aug {{ color: #333; }}
table {{ border-collapse: collapse; font-size: 12px; margin: 8px 0; }}
th, td {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; }}
th {{ cursor: pointer; background: #f6f6f6; user-select: none; }}
#viewer {{ position: fixed; inset: 0; background: #181818; color: #eee; overflow: auto; z-index: 5;
           padding: 12px; }}
#viewer[hidden] {{ display: none; }}
#viewer .row {{ align-items: flex-start; gap: 12px; }}
#viewer img {{ image-rendering: pixelated; background: #444; max-width: none; }}
#viewer button, #viewer select {{ font: inherit; }}
</style></head>
<body>
<header>
<b>{title}</b> &middot; {n_pairs} pairs shown of {total_pairs} &middot; <a href="grid.png">sample grid</a>
<br>{filters}
<label>sort <select id="sort"><option value="order-asc">build order</option>
<option value="psnr-asc">PSNR, lowest first</option><option value="psnr-desc">PSNR, highest first</option>
<option value="split-asc">split</option><option value="source-asc">source</option>
<option value="augment-asc">augmentation</option><option value="">(table column)</option></select></label>
<label>difference gain <input id="gain" type="range" min="1" max="{gain_max}" step="1" value="{gain}">
<span id="gain-value">x{gain}</span></label>
<span id="count"></span>
<br><small>Difference maps are |real &minus; fake| per channel times the gain (default x{gain}: at most 1% of
the values shown saturate). Click an image for the full-size view (1:1, zoom, Esc to close).</small>
</header>
<details><summary>table of pairs (click a column to sort)</summary>
<table id="pairs"><thead><tr><th data-key="order">#</th><th data-key="pair">pair</th><th data-key="split">split</th>
<th data-key="source">source</th><th data-key="augment">augmentation</th><th data-key="size">size</th>
<th data-key="psnr">PSNR (dB, worst fake)</th></tr></thead>
<tbody>
{rows}
</tbody></table></details>
<main>
{cards}
</main>
<div id="viewer" hidden>
<div><label>zoom <select id="zoom"><option>1</option><option>2</option><option>4</option><option>8</option>
<option>16</option></select></label> <button id="close">close (Esc)</button> <span id="viewer-title"></span></div>
<div class="row" id="viewer-body"></div>
</div>
<script>
const selects = Array.from(document.querySelectorAll("select[data-key]"));
const cards = Array.from(document.querySelectorAll(".pair"));
const rows = Array.from(document.querySelectorAll("#pairs tbody tr"));
const NUMERIC = new Set(["order", "psnr", "size"]);
function apply() {{
  let shown = 0;
  for (const el of cards.concat(rows)) {{
    const ok = selects.every(s => s.value === "" || (el.dataset[s.dataset.key] || "").split(" ").includes(s.value));
    el.classList.toggle("hidden", !ok);
    if (ok && el.classList.contains("pair")) shown++;
  }}
  document.getElementById("count").textContent = shown + " shown";
  document.body.dataset.shown = shown;
}}
// difference gain: the maps are stored at gain 1; a CSS brightness filter multiplies them (clipped at white)
const gain = document.getElementById("gain");
function setGain() {{
  document.getElementById("gain-value").textContent = "x" + gain.value;
  document.querySelectorAll("img.diff").forEach(i => {{ i.style.filter = "brightness(" + gain.value + ")"; }});
  document.body.dataset.gain = gain.value;
}}
gain.addEventListener("input", setGain);
// sorting: the cards and the table rows, by a data attribute; ties keep the build order
let sortKey = "order-asc";
function applySort(value) {{
  const [key, dir] = value.split("-");
  const sign = dir === "desc" ? -1 : 1;
  const cmp = (a, b) => {{
    const x = a.dataset[key] || "", y = b.dataset[key] || "";
    const d = NUMERIC.has(key) ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
    return sign * (d || 0) || (parseFloat(a.dataset.order) - parseFloat(b.dataset.order));
  }};
  for (const list of [cards, rows]) list.slice().sort(cmp).forEach(el => el.parentNode.appendChild(el));
  sortKey = value;
  const sel = document.getElementById("sort");
  sel.value = Array.from(sel.options).some(o => o.value === value) ? value : "";
  document.body.dataset.sort = value;
}}
document.getElementById("sort").addEventListener("change", e => {{ if (e.target.value) applySort(e.target.value); }});
document.querySelectorAll("#pairs th").forEach(th => th.addEventListener("click", () => {{
  const key = th.dataset.key;
  applySort(key + "-" + (sortKey === key + "-asc" ? "desc" : "asc"));
}}));
// full-size view: every image of the pair at 1:1 (or zoomed, pixels kept square), diffs at the current gain
const viewer = document.getElementById("viewer"), zoom = document.getElementById("zoom");
function layout() {{
  for (const img of viewer.querySelectorAll("img")) img.style.width = (img.naturalWidth * zoom.value) + "px";
  viewer.dataset.zoom = zoom.value;
}}
function openPair(card) {{
  const body = document.getElementById("viewer-body");
  body.replaceChildren(...Array.from(card.querySelectorAll("figure")).map(f => f.cloneNode(true)));
  document.getElementById("viewer-title").textContent = card.dataset.pair;
  viewer.hidden = false;
  viewer.dataset.pair = card.dataset.pair;
  setGain();
  layout();
}}
function closeViewer() {{ viewer.hidden = true; }}
zoom.addEventListener("change", layout);
document.getElementById("close").addEventListener("click", closeViewer);
document.addEventListener("keydown", e => {{ if (e.key === "Escape") closeViewer(); }});
cards.forEach(c => c.querySelectorAll("img").forEach(i => i.addEventListener("click", () => openPair(c))));
// every control can be preset from the URL: index.html#source=vae_roundtrip&augment=jpeg&sort=psnr-asc&gain=16
// (&open=PAIR_ID&zoom=4 opens the full-size view once the images have loaded); presets go through the
// controls' own event handlers
const preset = new URLSearchParams(location.hash.slice(1));
selects.forEach(s => {{ if (preset.has(s.dataset.key)) s.value = preset.get(s.dataset.key); }});
selects.forEach(s => s.addEventListener("change", apply));
apply();
if (preset.has("gain")) {{ gain.value = preset.get("gain"); gain.dispatchEvent(new Event("input")); }} else setGain();
if (preset.has("sort")) {{
  const sel = document.getElementById("sort");
  sel.value = preset.get("sort");
  sel.dispatchEvent(new Event("change"));
}}
window.addEventListener("load", () => {{
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0);
  broken.forEach(i => console.error("toolkit-inspect: image failed to load: " + i.getAttribute("src")));
  if (preset.has("open")) {{
    const card = cards.find(c => c.dataset.pair === preset.get("open"));
    if (preset.has("zoom")) zoom.value = preset.get("zoom");
    if (card) card.querySelector("img").click();
  }}
  console.log("toolkit-inspect: ready, " + (imgs.length - broken.length) + " of " + imgs.length + " images loaded");
}});
</script>
</body></html>
"""

GAIN_MAX = 128
SATURATED_SHARE = 0.01  # at the default gain at most this share of difference values reach white


def default_gain(diffs: list[np.ndarray]) -> int:
    """The largest power of two that keeps the 99th percentile of |real - fake| (all maps of the page
    together) below white: the maps are readable without saturating, and comparable across pairs."""
    values = np.concatenate([d.ravel() for d in diffs]) if diffs else np.zeros(1, np.uint8)
    q = float(np.quantile(values, 1 - SATURATED_SHARE))
    if q <= 0:
        return GAIN_MAX
    return int(min(GAIN_MAX, max(1, 2 ** math.floor(math.log2(255.0 / q)))))


def readable_augment(augment_json: str | None) -> str:
    """`[{"op": "blur", "sigma": 0.8}, {"op": "jpeg", "quality": 71}]` -> `blur (sigma 0.8) → jpeg (quality 71)`."""
    try:
        ops = json.loads(augment_json or "[]")
    except ValueError:
        return "unreadable"
    if not isinstance(ops, list) or not ops:
        return "none"
    parts = []
    for o in ops:
        if not isinstance(o, dict):
            parts.append(str(o))
            continue
        params = ", ".join(f"{k} {_value(v)}" for k, v in o.items() if k != "op")
        parts.append(f"{o.get('op', '?')} ({params})" if params else str(o.get("op", "?")))
    return " → ".join(parts)


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return "×".join(_value(x) for x in v) if all(isinstance(x, (int, float)) for x in v) else json.dumps(v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


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
    # first every |real - fake| at gain 1 (the page scales them), so the default gain sees them all
    decoded = []
    for p in pairs:
        real_px = decode(p["real"])
        fakes = []
        for f in p["fakes"]:
            fake_px = decode(f)
            same = fake_px.shape == real_px.shape
            fakes.append((f, diff_image(real_px, fake_px, gain=1) if same else None,
                          psnr(real_px, fake_px) if same else None))
        decoded.append((p, fakes))
    gain = default_gain([d for _, fakes in decoded for _, d, _ in fakes if d is not None])
    cards, rows, values = [], [], {"split": set(), "source": set(), "augment": set(), "format": set()}
    n_files = 0
    for order, (p, fakes) in enumerate(decoded):
        real = p["real"]
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
        details, psnrs = [], []
        for f, diff, q in fakes:
            fname = f"{pid}_{f['source']}.{EXT.get(f['format'], 'bin')}"
            (img_dir / fname).write_bytes(f["image"]["bytes"])
            dname = f"{pid}_{f['source']}_diff.png"
            (img_dir / dname).write_bytes(_png(diff if diff is not None else np.zeros_like(decode(real))))
            n_files += 2
            psnrs.append(q if q is not None else -1.0)
            shown = "size differs!" if q is None else ("identical" if math.isinf(q) else f"{q:.1f} dB")
            figs.append(f'<figure><img src="img/{fname}" alt="fake"><figcaption>{html.escape(f["source"])} '
                        f'({f["format"]})</figcaption></figure>')
            figs.append(f'<figure><img class="diff" src="img/{dname}" alt="difference"><figcaption>'
                        f'|real &minus; fake|, PSNR {shown}</figcaption></figure>')
            mask = (f.get("mask") or {}).get("bytes")
            if mask:  # builds with masks: the stored label (white = generated), beside its fake
                mname = f"{pid}_{f['source']}_mask.png"
                (img_dir / mname).write_bytes(mask)
                n_files += 1
                with Image.open(io.BytesIO(mask)) as im:
                    share = float(np.asarray(im).astype(bool).mean())
                figs.append(f'<figure><img class="mask" src="img/{mname}" alt="mask"><figcaption>mask, '
                            f'{100 * share:.0f}% generated</figcaption></figure>')
            details.append(f"{html.escape(f['source'])}: {html.escape(str(f.get('generator')))}")
        worst = min(psnrs) if psnrs else float("inf")
        readable = readable_augment(real["augment"])
        meta = (f"<b>{pid}</b> &middot; {html.escape(p['split'])} &middot; {real['width']}x{real['height']} &middot; "
                f'augment: <span class="aug" title="{html.escape(real["augment"] or "")}">{html.escape(readable)}'
                f"</span><br>{html.escape(real.get('caption') or '')}<br>origin: {html.escape(real['origin'])}<br>"
                + "<br>".join(details))
        attrs = (f'data-pair="{html.escape(pid)}" data-order="{order}" data-psnr="{_num(worst)}" '
                 f'data-size="{int(real["width"]) * int(real["height"])}" '
                 f'data-split="{html.escape(p["split"])}" data-source="{html.escape(" ".join(sources))}" '
                 f'data-augment="{html.escape(aug)}" data-format="{html.escape(" ".join(formats))}"')
        cards.append(f'<div class="pair" id="pair-{html.escape(pid)}" {attrs}><div class="row">{"".join(figs)}</div>'
                     f'<div class="meta">{meta}</div></div>')
        worst_shown = "identical" if math.isinf(worst) else ("size differs" if worst < 0 else f"{worst:.2f}")
        rows.append(f'<tr {attrs}><td>{order + 1}</td><td><a href="#pair-{html.escape(pid)}">{html.escape(pid)}</a></td>'
                    f'<td>{html.escape(p["split"])}</td><td>{html.escape(", ".join(sources))}</td>'
                    f'<td>{html.escape(readable)}</td><td>{real["width"]}x{real["height"]}</td>'
                    f"<td>{worst_shown}</td></tr>")
    filters = " ".join(_select(k, k, v) for k, v in values.items())
    title = f"{summary.get('name', 'dataset')}: aligned pairs"
    n_cols = 1 + max((sum(2 + bool((f.get("mask") or {}).get("bytes")) for f in p["fakes"]) for p in pairs),
                     default=2)
    page = PAGE.format(title=html.escape(title), n_pairs=len(pairs), total_pairs=summary.get("pairs", "?"),
                       gain=gain, gain_max=GAIN_MAX, filters=filters, cards="\n".join(cards), rows="\n".join(rows),
                       cell=cell, meta_w=n_cols * (cell + 4))
    (dest / "index.html").write_text(page, encoding="utf-8")
    info = {"index": str(dest / "index.html"), "grid": str(dest / "grid.png"), "pairs": len(pairs),
            "images": n_files, "filters": {k: sorted(v) for k, v in values.items()}, "diff_gain": gain}
    (dest / "inspect.json").write_text(json.dumps(info, indent=1))
    return info


def _num(x: float) -> str:
    """A number for a data attribute that JavaScript's parseFloat reads (inf -> Infinity)."""
    return "Infinity" if math.isinf(x) else f"{x:.4f}"
