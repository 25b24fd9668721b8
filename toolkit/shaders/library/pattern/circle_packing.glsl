// random circles on a jittered grid in palette colours, overlapping with outlines
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 3.0 * uParams.x);
    vec3 col = pal(0.9) * 0.25;
    for (int y = -1; y <= 1; y++) for (int x = -1; x <= 1; x++) {
        vec2 id = floor(p) + vec2(x, y);
        vec2 c = id + hash22(id);
        float r = 0.25 + 0.5 * hash12(id + 3.0);
        float d = length(p - c) - r;
        col = mix(col, pal(hash12(id + 7.0)), smoothstep(0.02, 0.0, d));
        col = mix(col, vec3(0.05), smoothstep(0.02, 0.0, abs(d) - 0.01));
    }
    return col;
}
