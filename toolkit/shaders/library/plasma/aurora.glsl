// aurora curtains over a dark sky: vertical streaks bent by noise, fading upward
vec3 image(vec2 fc) {
    vec2 uv = fc / uResolution;
    vec2 p = view(fc);
    vec3 col = mix(vec3(0.0, 0.02, 0.06), vec3(0.02, 0.05, 0.12), uv.y);
    for (int i = 0; i < 4; i++) {
        float fi = float(i);
        float x = p.x * (1.0 + fi * 0.3) + fbm(vec2(p.x * 0.8 + fi * 3.0, uTime * 0.1), 4) * (2.0 + 3.0 * uWarp);
        float band = pow(0.5 + 0.5 * sin(x * (3.0 + 4.0 * uParams.x)), 6.0);
        float h = 0.3 + 0.3 * fbm(vec2(x, fi), 3);
        float v = smoothstep(h - 0.25, h, uv.y) * exp(-(uv.y - h) * 3.0 * step(h, uv.y));
        col += band * v * pal(fi * 0.2 + uv.y * 0.3) * 0.6;
    }
    return col;
}
