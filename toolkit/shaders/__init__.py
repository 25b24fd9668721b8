"""Procedural GLSL programs rendered headless (OpenGL through EGL): the `shaders` source of reals.

library.py  finds programs (built-in `library/<family>/<name>.glsl`, user Shadertoy-style folders)
            and wraps them into complete fragment shaders;
uniforms.py draws the per-sample uniforms (seed, time, zoom, palette, warp, ...) from toolkit.seeding;
render.py   the in-process renderer (moderngl, float framebuffer, supersampling, RGB8 quantisation);
sandbox.py  the same renderer in a child process with a per-frame time limit (a hanging program is
            killed, never the build);
quality.py  the degenerate-frame checks (near-constant, mostly one colour, NaN).
"""
