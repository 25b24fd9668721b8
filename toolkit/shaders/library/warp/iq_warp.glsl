// two-level domain warping f(p + fbm(p + fbm(p))) coloured by the intermediate fields
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float k = 2.0 + 4.0 * uWarp;
    vec2 q = vec2(fbm(p + vec2(0.0, 0.0), 5), fbm(p + vec2(5.2, 1.3), 5));
    vec2 r = vec2(fbm(p + k * q + vec2(1.7, 9.2) + 0.15 * uTime, 5), fbm(p + k * q + vec2(8.3, 2.8) + 0.126 * uTime, 5));
    float f = fbm(p + k * r, 5);
    vec3 c = mix(pal(f), pal(f + 0.5), clamp(length(q), 0.0, 1.0));
    c = mix(c, vec3(0.1, 0.05, 0.2) + uPalB * 0.3, clamp(abs(r.x) * 0.6, 0.0, 1.0));
    return c * (0.4 + 1.2 * f * f);
}
