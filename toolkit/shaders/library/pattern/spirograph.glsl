// hypotrochoid curves (spirograph): distance to a sampled parametric curve, glowing lines
vec3 image(vec2 fc) {
    vec2 p = rot(uRotation) * centered(fc) * uZoom * 0.8;
    float R = 1.0, r = 0.2 + 0.5 * uParams.x, d = 0.3 + 0.6 * uParams.y;
    float best = 1e9;
    float prev = 0.0;
    for (int i = 0; i < 400; i++) {
        float t = float(i) * 0.08;
        vec2 q = vec2((R - r) * cos(t) + d * cos((R - r) / r * t), (R - r) * sin(t) - d * sin((R - r) / r * t)) * 0.6;
        best = min(best, length(p - q));
    }
    return pal(length(p)) * exp(-best * (40.0 + 40.0 * uWarp)) + pal(0.5 + length(p) * 0.4) * 0.15;
}
