"""Reals rendered by procedural GLSL programs: `reals: {kind: shaders}`.

The alignment paper trains a detector without any natural image: shader renders are the reals, their
VAE round-trips the fakes. This source enumerates (program, sample index) pairs: sample i of the
build goes to program i mod N (programs sorted by family/name) as that program's sample i div N, with
uniforms drawn from (recipe seed, program, index). `read()` renders the frame in a time-limited child
process (toolkit/shaders/sandbox.py) and returns lossless PNG bytes, so align decodes it like any
real; the origin is `shader://family/name#i=3` and the uniforms are kept in the row's provenance.

Nothing is lost silently: a program that fails to compile or link is reported on stderr with its
name and the GL log when the build is planned, skipped (its share of samples goes to the others) and
counted under `shader_compile_error`; a frame that times out, crashes the renderer, or is degenerate
(toolkit/shaders/quality.py) drops its pair under its own reason.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from typing import List, Optional

from toolkit.config import validation as v
from toolkit.errors import DropSample, ToolkitError
from toolkit.config.registry import SOURCES
from toolkit.sample import RealRef
from toolkit.sources.base import Source


@dataclass
class ShadersConfig:
    kind: str = "shaders"
    count: int = 600  # samples in all, spread round-robin over the programs
    builtin: bool = True  # use the built-in library (toolkit/shaders/library)
    families: List[str] = field(default_factory=list)  # keep only these built-in families (empty: all)
    programs: List[str] = field(default_factory=list)  # keep only these: family/name, name or a glob
    exclude: List[str] = field(default_factory=list)  # drop these (same forms as programs)
    user_dir: Optional[str] = None  # a folder of Shadertoy-style .glsl files (mainImage), wrapped
    width: Optional[int] = None  # render size; default image.size (256 when image.size is null)
    height: Optional[int] = None
    supersample: int = 1  # render s times larger, s x s box-filter down (anti-aliasing)
    time_limit_s: float = 30.0  # per frame (and per compile); past it the render process is killed
    backend: str = "egl"  # moderngl standalone backend

    def __post_init__(self):
        v.at_least("count", self.count, 0)
        v.strings("families", self.families)
        if self.builtin and self.families:
            known = builtin_families()
            for i, fam in enumerate(self.families):
                v.one_of(f"families[{i}]", fam, known, what="family")
        v.strings("programs", self.programs)
        v.strings("exclude", self.exclude)
        v.non_empty("user_dir", self.user_dir, optional=True)
        if not self.builtin and not self.user_dir:
            raise v.ConfigError("user_dir: needed when builtin is false (no programs to render otherwise)")
        v.at_least("width", self.width, 8, optional=True)
        v.at_least("height", self.height, 8, optional=True)
        v.in_range("supersample", self.supersample, 1, 8)
        v.above("time_limit_s", self.time_limit_s, 0)
        v.one_of("backend", self.backend, BACKENDS)


BACKENDS = ("egl",)  # what moderngl's create_standalone_context(backend=...) accepts (glcontext)


def builtin_families() -> list[str]:
    """The built-in library's families (its folder names; nothing is compiled or read)."""
    from toolkit.shaders.library import LIBRARY

    return sorted(p.name for p in LIBRARY.iterdir() if p.is_dir())


def _match(prog, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(prog.key, p) or fnmatch.fnmatchcase(prog.name, p) for p in patterns)


@SOURCES.register("shaders", ShadersConfig)
class ShadersSource(Source):
    kind = "shaders"

    def __init__(self, cfg: ShadersConfig, recipe):
        super().__init__(cfg, recipe)
        size = recipe.image.size or 256
        self.width = int(cfg.width or size)
        self.height = int(cfg.height or size)  # >= 8: ShadersConfig and ImageConfig check their sizes
        self._progs: dict | None = None
        self._sandbox = None
        self._usable: list | None = None
        self.failed: dict[str, str] = {}  # program key -> GL log

    # --- programs ------------------------------------------------------------------------------
    def programs(self) -> dict:
        if self._progs is None:
            from toolkit.shaders.library import builtin_programs, user_programs

            progs = []
            if self.cfg.builtin:
                builtin = builtin_programs()  # families: checked by ShadersConfig
                progs += [p for p in builtin if not self.cfg.families or p.family in self.cfg.families]
            if self.cfg.user_dir:
                progs += user_programs(self.cfg.user_dir)
            for pat in self.cfg.programs:
                if not any(_match(p, [pat]) for p in progs):
                    raise ToolkitError(f"reals.programs: {pat!r} matches no program")
            if self.cfg.programs:
                progs = [p for p in progs if _match(p, self.cfg.programs)]
            progs = [p for p in progs if not _match(p, self.cfg.exclude)]
            if not progs:
                raise ToolkitError("reals (shaders): no programs selected (builtin: false and no user_dir, "
                                   "or filters exclude everything)")
            self._progs = {p.key: p for p in progs}
        return self._progs

    def sandbox(self):
        if self._sandbox is None:
            from toolkit.shaders.sandbox import Sandbox

            self._sandbox = Sandbox(self.cfg.backend, self.cfg.time_limit_s)
        return self._sandbox

    def usable_programs(self) -> list:
        """Compile and link every selected program once; report, skip and count the failures.

        The order interleaves families (first program of each family, then the second, ...) so a
        build of fewer samples than programs still spans every family."""
        from toolkit.shaders.sandbox import CompileFailed, SandboxCrash, SandboxTimeout

        if self._usable is not None:
            return self._usable
        ok = []
        for key, prog in self.programs().items():
            try:
                self.sandbox().compile(prog)
            except CompileFailed as e:
                self._fail(key, "shader_compile_error", e.log)
                continue
            except SandboxTimeout:
                self._fail(key, "shader_compile_timeout", f"compile took more than {self.cfg.time_limit_s:g} s")
                continue
            except SandboxCrash as e:
                self._fail(key, "shader_compile_error", str(e))
                continue
            ok.append(prog)
        rank: dict[str, int] = {}
        order = []
        for p in ok:  # ok is sorted by (family, name)
            rank[p.family] = rank.get(p.family, -1) + 1
            order.append((rank[p.family], p.family, p.name, p))
        self._usable = [t[-1] for t in sorted(order, key=lambda t: t[:3])]
        return self._usable

    def _fail(self, key: str, reason: str, log: str) -> None:
        self.failed[key] = log
        self.skipped[reason] = self.skipped.get(reason, 0) + 1  # a program, not a real: not in `listed`
        print(f"toolkit: shaders: skipping program {key} ({reason}):\n  " + log.replace("\n", "\n  "),
              file=sys.stderr)

    # --- the Source interface ------------------------------------------------------------------
    def list(self):
        from toolkit.shaders.uniforms import draw_builtin, draw_shadertoy

        progs = self.usable_programs()
        if not progs and self.cfg.count:
            raise ToolkitError(f"reals (shaders): none of the {len(self.programs())} programs compiled "
                               f"(first: {next(iter(self.failed.items()))[0]})")
        self._write_card_meta()
        n = len(progs)
        for i in range(self.cfg.count):
            prog, j = progs[i % n], i // n
            if prog.kind == "builtin":
                uniforms = draw_builtin(self.recipe.seed, prog.key, j)
            else:
                uniforms = draw_shadertoy(self.recipe.seed, prog.key, j, self.width, self.height)
            caption = f"a procedural image rendered by the {prog.family} shader {prog.name}" + (
                f": {prog.description}" if prog.description else "")
            yield RealRef(origin=f"shader://{prog.key}#i={j}", caption=caption,
                          meta={"program": prog.key, "index": j, "digest": prog.digest, "uniforms": uniforms,
                                "width": self.width, "height": self.height, "supersample": self.cfg.supersample})

    def _write_card_meta(self) -> None:
        """meta/shaders/card.json (the card's "Shader reals" section) and a contact sheet of sample 0
        of every usable program, written when the build is planned."""
        if not self.recipe.output or not self.cfg.count:
            return
        from toolkit.shaders.sheet import contact_sheet
        from toolkit.store.atomic import AtomicFolder

        out = AtomicFolder(self.recipe.output)
        png, problems = contact_sheet(self, size=64, columns=12)
        out.write_bytes("meta/shaders/contact_sheet.png", png)
        out.write_json("meta/shaders/card.json", {**self.describe(), "contact_sheet": "meta/shaders/contact_sheet.png",
                                                  "sheet_problems": problems,
                                                  "program_list": sorted(self.programs())})

    def read(self, ref: RealRef) -> bytes:
        rgb = self.render_ref(ref)
        from toolkit.shaders.render import encode_png

        return encode_png(rgb)

    def render_ref(self, ref: RealRef):
        from toolkit.shaders.quality import degenerate_reason
        from toolkit.shaders.sandbox import CompileFailed, RenderFailed, SandboxCrash, SandboxTimeout

        meta = ref.meta
        prog = self.programs().get(meta["program"])
        if prog is None or prog.digest != meta["digest"]:
            raise DropSample("shader_changed", f"{ref.origin}: program missing or edited since planning")
        try:
            rgb, nonfinite, _ = self.sandbox().render(prog, meta["uniforms"], meta["width"], meta["height"],
                                                      meta["supersample"])
        except SandboxTimeout:
            raise DropSample("shader_timeout", f"{ref.origin}: frame took more than {self.cfg.time_limit_s:g} s; "
                                               f"render process killed and restarted") from None
        except SandboxCrash as e:
            raise DropSample("shader_crash", f"{ref.origin}: {e}") from None
        except CompileFailed as e:
            raise DropSample("shader_compile_error", f"{ref.origin}: {e.log}") from None
        except RenderFailed as e:
            raise DropSample("shader_render_error", f"{ref.origin}: {e}") from None
        reason = degenerate_reason(rgb, nonfinite)
        if reason:
            raise DropSample(reason, ref.origin)
        return rgb

    def describe(self) -> dict:
        progs = self.programs()
        usable = self._usable if self._usable is not None else list(progs.values())
        fams: dict[str, int] = {}
        for p in usable:
            fams[p.family] = fams.get(p.family, 0) + 1
        out = {"kind": self.kind, "programs_selected": len(progs), "programs": len(usable), "families": fams,
               "size": [self.width, self.height], "supersample": self.cfg.supersample,
               "time_limit_s": self.cfg.time_limit_s, "failed_programs": dict(self.failed)}
        if self._sandbox is not None and self._sandbox.info:
            out["renderer"] = self._sandbox.info
        return out
