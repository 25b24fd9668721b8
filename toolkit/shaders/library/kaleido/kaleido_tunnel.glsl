// kaleidoscopic tunnel: polar fold, then log-radius stripes like a receding corridor
vec3 image(vec2 fc) {
    vec2 p = centered(fc);
    float n = 4.0 + floor(uParams.x * 8.0);
    float a = atan(p.y, p.x), r = length(p);
    float seg = TAU / n;
    a = abs(mod(a + uRotation, seg) - seg * 0.5);
    float z = 1.0 / (r + 0.05) + uTime;
    vec2 uv = vec2(a * 3.0, z * (0.5 + uZoom * 0.3));
    float chk = mod(floor(uv.x * 2.0) + floor(uv.y * 2.0), 2.0);
    vec3 c = mix(pal(uv.y * 0.1), pal(uv.y * 0.1 + 0.5), chk);
    return c * smoothstep(0.0, 0.4, r);
}
