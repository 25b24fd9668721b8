// Mandelbrot set near an interesting boundary point, smooth iteration count
vec3 image(vec2 fc) {
    int pick = int(uParams.x * 4.0);
    vec2 centers[4] = vec2[4](vec2(-0.7453, 0.1127), vec2(-0.1011, 0.9563), vec2(-1.2557, 0.3822), vec2(0.2815, 0.0085));
    vec2 c = centers[pick] + rot(uRotation) * centered(fc) * 0.02 * uZoom * (0.3 + uParams.y * 3.0);
    vec2 z = vec2(0.0);
    float n = 0.0;
    for (int i = 0; i < 256; i++) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
        if (dot(z, z) > 256.0) break;
        n += 1.0;
    }
    if (n >= 256.0) return vec3(0.02);
    float sn = n - log2(log2(dot(z, z))) + 4.0;
    return pal(sqrt(sn) * 0.3);
}
