// hexagonal honeycomb with per-cell colour and inner bevel
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 4.0 * uParams.x);
    vec2 r = vec2(1.0, 1.7320508);
    vec2 h = r * 0.5;
    vec2 a = mod(p, r) - h, b = mod(p - h, r) - h;
    vec2 gv = dot(a, a) < dot(b, b) ? a : b;
    vec2 id = p - gv;
    vec2 q = abs(gv);
    float d = max(dot(q, normalize(vec2(1.0, 1.7320508))), q.x);
    float edge = smoothstep(0.5, 0.45, d);
    float bevel = smoothstep(0.2, 0.5, d);
    vec3 c = pal(hash12(floor(id * 10.0)));
    return c * edge * (1.0 - 0.5 * bevel);
}
