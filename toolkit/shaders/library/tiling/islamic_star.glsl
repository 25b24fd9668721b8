// an eight-fold star lattice: square tiling with rotated-square stars and interlace lines
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (2.0 + 3.0 * uParams.x);
    vec2 f = fract(p) - 0.5;
    vec2 q = abs(f);
    float sq = max(q.x, q.y);
    vec2 r = abs(rot(PI / 4.0) * f);
    float dq = max(r.x, r.y);
    float star = max(sq, dq);
    float l1 = abs(star - 0.3), l2 = abs(min(sq, dq) - 0.42);
    float lines = smoothstep(0.03, 0.015, min(l1, l2));
    vec3 c = mix(pal(star), pal(star + 0.5), step(star, 0.3));
    return mix(c * 0.8, vec3(0.95, 0.9, 0.75), lines);
}
