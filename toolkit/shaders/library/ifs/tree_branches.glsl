// a binary branching tree by repeated mirror fold and offset (IFS of line segments)
float seg(vec2 p, vec2 a, vec2 b) { vec2 pa = p - a, ba = b - a; float h = clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0); return length(pa - ba * h); }
vec3 image(vec2 fc) {
    vec2 p = (fc - vec2(0.5 * uResolution.x, 0.05 * uResolution.y)) / uResolution.y * 2.2;
    float px = 2.2 / uResolution.y;
    float ang = 0.35 + 0.5 * uParams.x;
    float shrink = 0.62 + 0.12 * uParams.y;
    float d = seg(p, vec2(0.0), vec2(0.0, 0.7)) - 0.06;
    float s = 1.0;
    for (int i = 0; i < 9; i++) {
        p.y -= 0.7;
        p.x = abs(p.x);
        p = rot(-ang - 0.2 * uWarp * sin(float(i) + uSeed)) * p;
        p /= shrink;
        s *= shrink;
        d = min(d, (seg(p, vec2(0.0), vec2(0.0, 0.7)) - 0.06) * s);
    }
    vec2 uv = fc / uResolution;
    vec3 sky = mix(pal(0.1), pal(0.3), uv.y) * 0.8;
    vec3 bark = mix(vec3(0.12, 0.08, 0.05), pal(0.7) * 0.4, 0.3);
    return mix(sky, bark, smoothstep(px, 0.0, d));
}
