// Menger sponge (3 levels) ray-marched with directional light, shadows and AO
float box(vec3 p, vec3 b) { vec3 q = abs(p) - b; return length(max(q, 0.0)) + min(max(q.x, max(q.y, q.z)), 0.0); }
float map(vec3 p) {
    float d = box(p, vec3(1.0));
    float s = 1.0;
    for (int m = 0; m < 3; m++) {
        vec3 a = mod(p * s, 2.0) - 1.0;
        s *= 3.0;
        vec3 r = abs(1.0 - 3.0 * abs(a));
        float da = max(r.x, r.y), db = max(r.y, r.z), dc = max(r.z, r.x);
        float c = (min(da, min(db, dc)) - 1.0) / s;
        d = max(d, c);
    }
    return d;
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    float a = uRotation, b = 0.3 + 0.6 * uParams.x;
    vec3 ro = 3.2 * vec3(cos(a) * cos(b), sin(b), sin(a) * cos(b)) * (0.7 + 0.3 * uZoom);
    vec3 fw = normalize(-ro), rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.6 + uv.x * rt + uv.y * up);
    float t = 0.0;
    for (int i = 0; i < 96; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 12.0) break; t += h; }
    vec3 bg = pal(0.5 + uv.y * 0.2) * 0.3;
    if (t > 12.0) return bg;
    vec3 p = ro + rd * t, n = nrm(p);
    vec3 l = normalize(vec3(0.6, 0.8, 0.3));
    float sh = 1.0, st = 0.02;
    for (int i = 0; i < 24; i++) { float h = map(p + n * 2e-3 + l * st); sh = min(sh, 10.0 * h / st); st += clamp(h, 0.01, 0.3); if (h < 1e-4) break; }
    sh = clamp(sh, 0.0, 1.0);
    float ao = 0.0;
    for (int i = 1; i <= 4; i++) { float hh = 0.04 * float(i); ao += hh - map(p + n * hh); }
    ao = clamp(1.0 - 6.0 * ao, 0.0, 1.0);
    vec3 alb = pal(length(p) * 0.4);
    return alb * (0.2 * ao + 0.8 * max(dot(n, l), 0.0) * sh);
}
