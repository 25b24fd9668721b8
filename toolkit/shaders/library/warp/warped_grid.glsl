// a line grid pushed around by gradient-noise displacement
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    vec2 d = vec2(gfbm(p * 0.7, 4), gfbm(p * 0.7 + 11.3, 4));
    vec2 q = p + d * (0.5 + 2.0 * uWarp);
    vec2 g = abs(fract(q * (1.5 + uParams.x * 2.0)) - 0.5);
    float line = smoothstep(0.05, 0.0, min(g.x, g.y) - 0.02);
    vec3 bg = pal(length(d) * 0.7);
    return mix(bg * 0.6, vec3(1.0) - bg * 0.5, line);
}
