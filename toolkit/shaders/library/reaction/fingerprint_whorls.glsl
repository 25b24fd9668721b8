// fingerprint-like whorls: ridge lines following the phase of a few vortex singularities
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float phase = 0.0;
    for (int i = 0; i < 3; i++) {
        vec2 c = (hash22(vec2(float(i), 4.0)) - 0.5) * 2.0;
        vec2 d = p - c;
        phase += length(d) * (8.0 + 10.0 * uParams.x) + (float(i) - 1.0) * atan(d.y, d.x);
    }
    phase += gnoise(p * 3.0) * 2.0 * uWarp;
    float ridge = smoothstep(-0.3, 0.3, sin(phase));
    return mix(pal(0.05) * 0.2 + 0.75, pal(0.5) * 0.4, ridge);
}
