// contour lines of a sum of plane waves: topographic stripes
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    float h = 0.0;
    for (int i = 0; i < 5; i++) {
        float a = hash11(float(i) * 3.1 + uSeed) * TAU;
        h += sin(dot(p, vec2(cos(a), sin(a))) * (1.0 + float(i) * 0.7) + uTime);
    }
    float lines = abs(fract(h * (1.0 + 2.0 * uParams.x)) - 0.5);
    return pal(h * 0.1) * smoothstep(0.0, 0.12, lines) + 0.05;
}
