// two sets of concentric rings slightly offset: moire beat fringes
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float f = 30.0 + 60.0 * uParams.x;
    vec2 c1 = vec2(0.1 + 0.3 * uParams.y, 0.0), c2 = -c1;
    float a = sin(length(p - c1) * f), b = sin(length(p - c2) * f * (1.0 + 0.05 * uWarp));
    float m = a * b;
    return pal(0.5 + 0.5 * m) * (0.5 + 0.5 * step(0.0, a));
}
