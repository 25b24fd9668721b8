// ridged multifractal gradient noise: sharp mountain-crest lines
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 1.5;
    float s = 0.0, a = 0.5, w = 1.0;
    for (int i = 0; i < 7; i++) {
        float n = 1.0 - abs(gnoise(p));
        n = n * n * w;
        w = clamp(n * 2.0, 0.0, 1.0);
        s += a * n;
        p = rot(0.6 + uParams.x) * p * 2.02 + 3.1;
        a *= 0.5;
    }
    vec3 c = pal(s * 1.4 + uParams.y);
    return c * (0.3 + 0.9 * s);
}
