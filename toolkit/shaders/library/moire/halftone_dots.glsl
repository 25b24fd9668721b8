// halftone screen: dot size follows an fbm tone, on a rotated grid with a second colour screen
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float tone = fbm(p * 1.2, 5);
    vec3 c = vec3(1.0);
    for (int k = 0; k < 3; k++) {
        vec2 q = rot(float(k) * 0.52 + uParams.x) * p * (14.0 + 10.0 * uParams.y);
        vec2 f = fract(q) - 0.5;
        float tk = clamp(tone + (float(k) - 1.0) * 0.15 * uWarp, 0.0, 1.0);
        float dot_ = smoothstep(0.05, 0.0, length(f) - 0.5 * sqrt(tk));
        c *= mix(vec3(1.0), uPalA * vec3(k == 0 ? 0.3 : 1.0, k == 1 ? 0.3 : 1.0, k == 2 ? 0.3 : 1.0), dot_);
    }
    return c;
}
