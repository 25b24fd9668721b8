// an infinite field of repeated columns with fog and a low sun (domain repetition)
float map(vec3 p) {
    vec2 cell = 3.0 + 2.0 * vec2(uParams.x, uParams.y);
    vec2 id = floor(p.xz / cell + 0.5);
    vec2 q = p.xz - id * cell;
    float hgt = 1.0 + 3.0 * hash12(id);
    float col = max(length(q) - 0.4 - 0.05 * sin(atan(q.y, q.x) * 12.0), p.y - hgt);
    return min(p.y, col);
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    vec3 ro = vec3(uOffset.x * 5.0 + 1.5, 1.0 + uWarp, uOffset.y * 5.0 + 1.5);
    vec3 fw = normalize(vec3(cos(uRotation), -0.1, sin(uRotation))), rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.4 + uv.x * rt + uv.y * up);
    vec3 sun = normalize(vec3(cos(uTime), 0.35, sin(uTime)));
    vec3 fog = pal(0.2) * 0.6 + 0.3;
    float t = 0.0;
    for (int i = 0; i < 100; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 50.0) break; t += h * 0.9; }
    if (t > 50.0) return fog;
    vec3 p = ro + rd * t, n = nrm(p);
    float sh = 1.0, st = 0.05;
    for (int i = 0; i < 32; i++) { float h = map(p + n * 2e-3 + sun * st); sh = min(sh, 8.0 * h / st); st += clamp(h, 0.05, 1.0); if (h < 1e-4 || st > 20.0) break; }
    vec3 alb = p.y < 0.01 ? vec3(0.6, 0.55, 0.5) : pal(0.6) * 0.5 + 0.4;
    vec3 col = alb * (0.2 + max(dot(n, sun), 0.0) * clamp(sh, 0.0, 1.0));
    return mix(col, fog, 1.0 - exp(-0.04 * t));
}
