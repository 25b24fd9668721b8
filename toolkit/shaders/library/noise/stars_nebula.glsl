// star field with a coloured fbm nebula
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float neb = fbm(p * 1.5 + fbm(p * 3.0, 4), 6);
    vec3 c = pal(neb + 0.3) * pow(neb, 2.0 + 2.0 * uParams.x) * 2.0;
    for (int l = 0; l < 3; l++) {
        vec2 q = p * (12.0 + 14.0 * float(l)) + float(l) * 7.7;
        vec2 id = floor(q), f = fract(q) - 0.5;
        vec2 o = hash22(id) - 0.5;
        float b = hash12(id + 3.3);
        float s = smoothstep(0.06, 0.0, length(f - o * 0.7)) * step(0.75, b);
        c += s * mix(vec3(1.0), pal(b), 0.4) * (1.5 - 0.4 * float(l));
    }
    return c + vec3(0.01, 0.01, 0.03);
}
