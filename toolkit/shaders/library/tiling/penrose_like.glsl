// quasi-periodic pattern: five sets of parallel lines (de Bruijn grids), coloured by cell parity
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (2.0 + 3.0 * uParams.x);
    float s = 0.0, e = 10.0;
    for (int k = 0; k < 5; k++) {
        float a = float(k) * TAU / 5.0;
        float t = dot(p, vec2(cos(a), sin(a))) + hash11(float(k) + uSeed);
        s += floor(t);
        e = min(e, abs(fract(t) - 0.5));
    }
    vec3 c = pal(fract(s * 0.13 + uParams.y));
    return c * smoothstep(0.5, 0.42, e) * 0.8 + 0.1 * c;
}
