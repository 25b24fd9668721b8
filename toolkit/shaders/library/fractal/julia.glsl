// Julia set with a parameter drawn on a circle near the Mandelbrot boundary
vec3 image(vec2 fc) {
    float t = uParams.x * TAU;
    vec2 c = 0.7885 * vec2(cos(t), sin(t));
    vec2 z = rot(uRotation) * centered(fc) * (0.8 + 0.6 * uZoom * 0.5);
    float n = 0.0;
    for (int i = 0; i < 200; i++) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
        if (dot(z, z) > 64.0) break;
        n += 1.0;
    }
    float sn = n - log2(log2(max(dot(z, z), 1.0001))) + 4.0;
    return n >= 200.0 ? pal(0.9) * 0.2 : pal(sn * 0.04 + uParams.y);
}
