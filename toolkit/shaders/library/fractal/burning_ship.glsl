// Burning Ship fractal (abs before squaring), around the main ship and its small copies
vec3 image(vec2 fc) {
    vec2 centers[3] = vec2[3](vec2(-0.5, -0.55), vec2(-1.762, -0.028), vec2(-1.941, -0.002));
    float scales[3] = float[3](1.2, 0.06, 0.01);
    int k = int(uParams.x * 3.0);
    vec2 c = centers[k] + centered(fc) * scales[k] * (0.6 + uZoom * 0.4) * vec2(1.0, -1.0);
    vec2 z = vec2(0.0);
    float n = 0.0;
    for (int i = 0; i < 200; i++) {
        z = abs(z);
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
        if (dot(z, z) > 16.0) break;
        n += 1.0;
    }
    return n >= 200.0 ? vec3(0.0, 0.0, 0.02) : pal(pow(n / 200.0, 0.4) + uParams.y);
}
