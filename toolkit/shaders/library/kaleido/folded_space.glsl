// iterated folding (abs, rotate, scale): crystalline kaleidoscopic lattice
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float acc = 0.0;
    for (int i = 0; i < 10; i++) {
        p = abs(p) - (0.5 + 0.5 * uParams.x);
        p = rot(0.3 + uParams.y + 0.1 * uTime) * p;
        p *= 1.2 + 0.3 * uWarp;
        acc += exp(-abs(p.y) * 4.0);
    }
    return pal(acc * 0.15) * (0.2 + 0.1 * acc);
}
