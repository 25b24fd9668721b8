// height-field terrain from fbm, ray-marched with sun shadows, fog and snow on slopes
float hmap(vec2 p) { return fbm(p * 0.4, 6) * 2.5 * (0.6 + 0.8 * uParams.x); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    vec3 ro = vec3(uOffset.x * 10.0, 3.0 + uParams.y * 1.5, uOffset.y * 10.0);
    vec3 fw = normalize(vec3(cos(uRotation), -0.25, sin(uRotation)));
    vec3 rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.5 + uv.x * rt + uv.y * up);
    vec3 sun = normalize(vec3(0.8, 0.4 + 0.3 * uWarp, 0.2));
    vec3 sky = mix(vec3(0.55, 0.7, 0.9), uPalA, 0.3) * (1.0 - 0.5 * max(rd.y, 0.0)) + pow(max(dot(rd, sun), 0.0), 64.0);
    float t = 0.5;
    bool hit = false;
    for (int i = 0; i < 120; i++) {
        vec3 p = ro + rd * t;
        float h = p.y - hmap(p.xz);
        if (h < 0.002 * t) { hit = true; break; }
        t += 0.4 * h;
        if (t > 40.0) break;
    }
    if (!hit) return sky;
    vec3 p = ro + rd * t;
    vec2 e = vec2(0.02, 0.0);
    vec3 n = normalize(vec3(hmap(p.xz - e.xy) - hmap(p.xz + e.xy), 2.0 * e.x, hmap(p.xz - e.yx) - hmap(p.xz + e.yx)));
    float sh = 1.0, st = 0.1;
    for (int i = 0; i < 24; i++) { vec3 q = p + sun * st; float h = q.y - hmap(q.xz); sh = min(sh, 8.0 * h / st); st += max(0.1, h * 0.5); if (sh < 0.0) break; }
    sh = clamp(sh, 0.0, 1.0);
    vec3 alb = mix(vec3(0.35, 0.3, 0.2), vec3(0.2, 0.35, 0.12), smoothstep(0.5, 1.5, p.y));
    alb = mix(alb, vec3(0.95), smoothstep(0.7, 0.9, n.y) * smoothstep(1.6, 2.2, p.y));
    vec3 col = alb * (0.2 + 1.1 * max(dot(n, sun), 0.0) * sh);
    return mix(col, sky, 1.0 - exp(-0.002 * t * t));
}
