// a twisted torus and capsules inside a box room, ray-marched, with coloured lights
float sdTorus(vec3 p, vec2 t) { vec2 q = vec2(length(p.xz) - t.x, p.y); return length(q) - t.y; }
float map(vec3 p) {
    float room = -max(abs(p.x) - 3.0, max(abs(p.y - 1.5) - 1.6, abs(p.z) - 3.0));
    vec3 q = p - vec3(0.0, 1.3, 0.0);
    q.xy = rot(uParams.x * 2.0) * q.xy;
    q.xz = rot(q.y * (1.0 + 2.0 * uWarp)) * q.xz;
    float tor = sdTorus(q, vec2(0.9, 0.25 + 0.1 * uParams.y));
    float cap = length(vec3(p.x - 1.8, max(abs(p.y - 0.6) - 0.5, 0.0), p.z + 1.2)) - 0.25;
    return min(room, min(tor * 0.7, cap));
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    vec3 ro = vec3(2.5 * cos(uRotation), 1.6, 2.5 * sin(uRotation));
    vec3 fw = normalize(vec3(0.0, 1.2, 0.0) - ro), rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.2 + uv.x * rt + uv.y * up);
    float t = 0.0;
    for (int i = 0; i < 100; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 20.0) break; t += h; }
    vec3 p = ro + rd * t, n = nrm(p);
    vec3 col = vec3(0.0);
    vec3 lp[2] = vec3[2](vec3(1.5, 2.6, 1.0), vec3(-1.8, 2.0, -1.5));
    for (int k = 0; k < 2; k++) {
        vec3 ld = lp[k] - p; float dist = length(ld); ld /= dist;
        float sh = 1.0, st = 0.02;
        for (int i = 0; i < 32; i++) { float h = map(p + n * 2e-3 + ld * st); sh = min(sh, 12.0 * h / st); st += clamp(h, 0.01, 0.4); if (h < 1e-4 || st > dist) break; }
        col += pal(float(k) * 0.5 + 0.1) * max(dot(n, ld), 0.0) * clamp(sh, 0.0, 1.0) * 2.0 / (1.0 + 0.3 * dist * dist);
    }
    float ao = clamp(map(p + n * 0.15) / 0.15, 0.0, 1.0);
    return col * mix(vec3(0.8), pal(0.3), 0.3) + 0.05 * ao;
}
