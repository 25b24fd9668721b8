// a few point vortices twist a checkerboard-and-noise field
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    for (int i = 0; i < 4; i++) {
        vec2 c = (hash22(vec2(float(i), 3.0)) - 0.5) * 3.0 + uOffset;
        vec2 d = p - c;
        float r = length(d);
        float a = (hash12(vec2(float(i), 9.0)) - 0.5) * 12.0 * (0.3 + uWarp) * exp(-r * r * 1.5);
        p = c + rot(a) * d;
    }
    vec2 g = floor(p * (2.0 + 3.0 * uParams.x));
    float chk = mod(g.x + g.y, 2.0);
    float n = fbm(p * 3.0, 4);
    return mix(pal(n), pal(n + 0.5) * 0.6, chk);
}
