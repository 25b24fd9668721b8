// wood grain: distorted concentric rings with fine noise fibres
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 0.5 * vec2(1.0, 2.0 + 3.0 * uParams.x);
    float n = fbm(p * 0.8, 5);
    float r = length(p * vec2(1.0, 0.15) + vec2(3.0)) * (3.0 + 5.0 * uParams.y) + n * (3.0 + 5.0 * uWarp);
    float ring = fract(r);
    ring = smoothstep(0.0, 0.8, ring) * smoothstep(1.0, 0.85, ring);
    float fib = vnoise(p * vec2(30.0, 1.5)) * 0.12;
    vec3 light = vec3(0.78, 0.55, 0.32) * (0.7 + 0.5 * uPalA);
    vec3 dark = light * 0.45;
    return mix(dark, light, ring) - fib;
}
