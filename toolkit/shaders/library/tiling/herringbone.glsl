// herringbone parquet: alternating horizontal and vertical planks with wood grain
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 3.0 * uParams.x);
    vec2 q = vec2(p.x + p.y, p.y - p.x) * 0.7071;
    float k = floor(q.x) + floor(q.y);
    bool vert = mod(k, 2.0) < 1.0;
    vec2 u = vert ? q : q.yx;
    vec2 id = floor(u * vec2(1.0, 4.0));
    vec2 f = fract(u * vec2(1.0, 4.0));
    float gap = step(0.03, f.y) * step(0.02, f.x);
    float grain = vnoise(vec2(u.x * 3.0, u.y * 60.0) + hash12(id) * 10.0);
    vec3 wood = mix(vec3(0.55, 0.35, 0.2), pal(hash12(id)), 0.3) * (0.75 + 0.3 * grain);
    return wood * gap;
}
