// Turing-pattern spots: difference of two noise blurs thresholded (activator-inhibitor look)
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (4.0 + 6.0 * uParams.x);
    float a = gfbm(p, 3), b = gfbm(p * 0.5 + 3.7, 3);
    float v = a - 0.6 * b;
    float s = smoothstep(0.0, 0.08, v - 0.1 + 0.2 * uParams.y);
    return mix(pal(0.1) * 0.3 + 0.1, pal(0.6), s);
}
