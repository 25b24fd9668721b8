// ray-marched spheres on a checkered plane with soft shadows, ambient occlusion and sky
float map(vec3 p) {
    float d = p.y;
    for (int i = 0; i < 5; i++) {
        vec3 c = vec3((hash12(vec2(float(i), 1.0)) - 0.5) * 4.0, 0.0, (hash12(vec2(float(i), 2.0)) - 0.5) * 4.0);
        float r = 0.3 + 0.5 * hash12(vec2(float(i), 3.0));
        d = min(d, length(p - c - vec3(0.0, r, 0.0)) - r);
    }
    return d;
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
float shadow(vec3 ro, vec3 rd) { float r = 1.0, t = 0.02; for (int i = 0; i < 32; i++) { float h = map(ro + rd * t); r = min(r, 8.0 * h / t); t += clamp(h, 0.02, 0.5); if (h < 1e-3 || t > 10.0) break; } return clamp(r, 0.0, 1.0); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    float a = uRotation;
    vec3 ro = vec3(6.0 * cos(a), 2.0 + 2.0 * uParams.x, 6.0 * sin(a));
    vec3 fw = normalize(-ro + vec3(0.0, 0.5, 0.0)), rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.8 + uv.x * rt + uv.y * up);
    vec3 sky = mix(vec3(0.6, 0.75, 0.95), uPalA, 0.4) - rd.y * 0.4;
    float t = 0.0;
    for (int i = 0; i < 96; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 30.0) break; t += h; }
    if (t > 30.0) return sky;
    vec3 p = ro + rd * t, n = nrm(p);
    vec3 l = normalize(vec3(cos(uParams.y * TAU), 1.2, sin(uParams.y * TAU)));
    float dif = max(dot(n, l), 0.0) * shadow(p + n * 1e-3, l);
    float ao = clamp(map(p + n * 0.2) / 0.2, 0.0, 1.0);
    vec3 alb = p.y < 1e-2 ? mix(vec3(0.3), vec3(0.8), mod(floor(p.x) + floor(p.z), 2.0)) : pal(hash12(floor(p.xz * 0.5)));
    vec3 col = alb * (0.15 * ao + 0.9 * dif) + pow(max(dot(reflect(rd, n), l), 0.0), 32.0) * dif * 0.5;
    return mix(col, sky, 1.0 - exp(-0.003 * t * t));
}
