// streaks along a noise flow field: advect the coordinate a few steps, then draw stripes
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 1.5;
    vec2 q = p;
    for (int i = 0; i < 12; i++) {
        float a = gnoise(q * (0.6 + uParams.x)) * TAU * (0.5 + uWarp);
        q += 0.08 * vec2(cos(a), sin(a));
    }
    float s = 0.5 + 0.5 * sin((q.x + q.y) * (20.0 + 30.0 * uParams.y));
    return mix(pal(length(q - p)), pal(length(q - p) + 0.4) * 0.3, s);
}
