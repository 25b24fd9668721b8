// n-fold kaleidoscope of fbm: polar fold with mirroring, then noise
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float n = 3.0 + floor(uParams.x * 9.0);
    float a = atan(p.y, p.x) + uRotation, r = length(p);
    float seg = TAU / n;
    a = abs(mod(a, seg) - seg * 0.5);
    vec2 q = r * vec2(cos(a), sin(a)) + uOffset;
    float f = fbm(q * 3.0, 5);
    return pal(f * 1.5 + r * 0.3) * (0.5 + f);
}
