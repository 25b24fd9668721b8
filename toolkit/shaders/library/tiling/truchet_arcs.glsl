// Truchet tiles of quarter arcs: random orientation per cell, continuous meandering bands
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 5.0 * uParams.x);
    vec2 id = floor(p), f = fract(p) - 0.5;
    if (hash12(id) > 0.5) f.x = -f.x;
    vec2 c = f - sign(f.x + f.y + 1e-6) * 0.5;
    float d = abs(length(c) - 0.5);
    float w = 0.08 + 0.15 * uParams.y;
    float band = smoothstep(w, w - 0.03, d);
    float along = atan(c.y, c.x);
    return mix(pal(hash12(id + 5.0) * 0.3), pal(0.5 + along * 0.2), band);
}
