// Newton's method on z^3 - 1: basins of the three roots shaded by iterations
vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 cdiv(vec2 a, vec2 b) { return vec2(a.x * b.x + a.y * b.y, a.y * b.x - a.x * b.y) / dot(b, b); }
vec3 image(vec2 fc) {
    vec2 z = view(fc) * 0.8;
    float n = 0.0;
    vec2 relax = vec2(1.0 + 0.8 * uParams.x, 0.3 * (uParams.y - 0.5));
    for (int i = 0; i < 60; i++) {
        vec2 z2 = cmul(z, z);
        vec2 dz = cdiv(cmul(z2, z) - vec2(1.0, 0.0), 3.0 * z2 + vec2(1e-9, 0.0));
        z -= cmul(relax, dz);
        if (dot(dz, dz) < 1e-8) break;
        n += 1.0;
    }
    float root = atan(z.y, z.x) / TAU + 0.5;
    return pal(floor(root * 3.0 + 0.5) / 3.0) * (1.0 - n / 70.0);
}
