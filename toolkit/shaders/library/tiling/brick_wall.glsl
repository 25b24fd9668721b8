// running-bond bricks with mortar, per-brick tint and surface noise
vec3 image(vec2 fc) {
    vec2 p = view(fc) * vec2(2.0, 4.0) * (1.0 + uParams.x);
    float row = floor(p.y);
    p.x += mod(row, 2.0) * 0.5;
    vec2 id = floor(p), f = fract(p);
    float m = 0.05 + 0.05 * uParams.y;
    float mortar = step(m, f.x) * step(f.x, 1.0 - m) * step(m * 2.0, f.y) * step(f.y, 1.0 - m * 2.0);
    vec3 brick = mix(vec3(0.6, 0.25, 0.15), uPalA, 0.35) * (0.75 + 0.4 * hash12(id)) * (0.8 + 0.3 * fbm(p * 6.0, 4));
    vec3 grout = vec3(0.75, 0.72, 0.68) * (0.85 + 0.2 * vnoise(p * 20.0));
    return mix(grout, brick, mortar);
}
