// Sierpinski triangle as Pascal's triangle mod 2 ((i & j) == 0 on a skewed lattice), tinted by block
vec3 image(vec2 fc) {
    vec2 p = rot(uRotation) * centered(fc) * uZoom * 0.8 + uOffset * 0.2;
    vec2 q = vec2(p.x - p.y * 0.57735, p.y * 1.1547) * (24.0 + 96.0 * uParams.x);
    ivec2 i = ivec2(floor(q + 4096.0));
    bool inside = (i.x & i.y) == 0;
    float block = float(((i.x >> 3) ^ (i.y >> 3)) & 15) / 15.0;
    vec3 on = pal(block * 0.6 + uParams.y);
    vec3 off = pal(0.5 + p.y * 0.2) * 0.18;
    return inside ? on : off;
}
