// iterated sine warping: swirly liquid marble in bands
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 1.5;
    float amp = 0.4 + 0.8 * uWarp;
    for (int i = 1; i < 9; i++) {
        float fi = float(i);
        p += amp / fi * vec2(sin(fi * p.y + uTime + uSeed * 0.1 + fi), cos(fi * p.x + uTime * 0.7 + fi * 1.3));
    }
    float b = sin(p.x * (1.0 + uParams.x * 2.0)) * 0.5 + 0.5;
    return pal(b * 0.8 + 0.1 * sin(p.y));
}
