"""A contact sheet: one labelled tile per program, for the README, the card and eyeballing variety."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from toolkit.errors import DropSample
from toolkit.sample import RealRef


def contact_sheet(source, size: int = 96, columns: int = 10, index: int = 0) -> tuple[bytes, dict[str, str]]:
    """Render sample `index` of every program of a ShadersSource into a labelled grid.

    Returns (PNG bytes, {program key: problem}). Problems: compile error (red tile), shader_timeout,
    or a degenerate frame (drawn anyway, with an orange border)."""
    from toolkit.shaders.uniforms import draw_builtin, draw_shadertoy

    progs = list(source.programs().values())
    usable = {p.key for p in source.usable_programs()}
    problems = {k: "compile error" for k in source.failed}
    label_h = 12
    cols = max(1, min(columns, len(progs)))
    rows = -(-len(progs) // cols)
    sheet = Image.new("RGB", (cols * (size + 4) + 4, rows * (size + label_h + 4) + 4), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for n, prog in enumerate(progs):
        x0 = 4 + (n % cols) * (size + 4)
        y0 = 4 + (n // cols) * (size + label_h + 4)
        tile = np.zeros((size, size, 3), np.uint8)
        tile[:] = (160, 20, 20)
        border = None
        if prog.key in usable:
            uniforms = (draw_builtin(source.recipe.seed, prog.key, index) if prog.kind == "builtin"
                        else draw_shadertoy(source.recipe.seed, prog.key, index, size, size))
            ref = RealRef(origin=f"shader://{prog.key}#i={index}", meta={
                "program": prog.key, "index": index, "digest": prog.digest, "uniforms": uniforms,
                "width": size, "height": size, "supersample": source.cfg.supersample})
            try:
                tile = source.render_ref(ref)
            except DropSample as d:
                problems[prog.key] = d.reason
                if d.reason.startswith("degenerate") or d.reason == "shader_nan":
                    border = (255, 140, 0)
                    tile = _raw(source, prog, uniforms, size)
        sheet.paste(Image.fromarray(tile), (x0, y0))
        if border:
            draw.rectangle([x0 - 2, y0 - 2, x0 + size + 1, y0 + size + 1], outline=border, width=2)
        draw.text((x0, y0 + size + 1), prog.name[: max(4, size // 6)], fill=(220, 220, 220), font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    return buf.getvalue(), problems


def _raw(source, prog, uniforms, size):
    try:
        return source.sandbox().render(prog, uniforms, size, size, source.cfg.supersample)[0]
    except Exception:  # noqa: BLE001 - the tile stays red
        t = np.zeros((size, size, 3), np.uint8)
        t[:] = (160, 20, 20)
        return t
