// Lyapunov fractal of the logistic map with an AB sequence: stable (dark) vs chaotic regions
vec3 image(vec2 fc) {
    vec2 uv = fc / uResolution;
    vec2 ab = mix(vec2(2.5, 2.5), vec2(4.0, 4.0), uv * (0.4 + 0.6 / uZoom) + uParams.xy * 0.4);
    ab = clamp(ab, 2.0, 4.0);
    float x = 0.5, l = 0.0;
    int seq = 1 + int(uParams.z * 6.0);
    for (int i = 0; i < 160; i++) {
        float r = ((i % (seq + 1)) == 0) ? ab.x : ab.y;
        x = r * x * (1.0 - x);
        if (i > 20) l += log(abs(r * (1.0 - 2.0 * x)) + 1e-6);
    }
    l /= 140.0;
    return l < 0.0 ? pal(-l * 0.8) * clamp(-l * 2.0, 0.1, 1.0) : vec3(0.05, 0.05, 0.1) + pal(0.9) * min(l, 1.0) * 0.5;
}
