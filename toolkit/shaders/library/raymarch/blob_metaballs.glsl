// smooth-union metaballs with fresnel rim and a studio gradient backdrop
float smin(float a, float b, float k) { float h = clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0); return mix(b, a, h) - k * h * (1.0 - h); }
float map(vec3 p) {
    float d = 1e9;
    for (int i = 0; i < 6; i++) {
        vec3 c = (vec3(hash12(vec2(float(i), 1.0)), hash12(vec2(float(i), 2.0)), hash12(vec2(float(i), 3.0))) - 0.5) * 2.0;
        c += 0.3 * sin(uTime + float(i) * vec3(1.0, 1.7, 2.3));
        d = smin(d, length(p - c) - 0.35 - 0.2 * hash12(vec2(float(i), 4.0)), 0.3 + 0.4 * uParams.x);
    }
    return d;
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    vec3 ro = vec3(0.0, 0.0, 4.0 * (0.7 + 0.3 * uZoom));
    ro.xz = rot(uRotation) * ro.xz;
    vec3 fw = normalize(-ro), rt = normalize(cross(fw, vec3(0, 1, 0))), up = cross(rt, fw);
    vec3 rd = normalize(fw * 1.5 + uv.x * rt + uv.y * up);
    vec3 bg = mix(pal(0.0), pal(0.3), uv.y * 0.5 + 0.5) * 0.5;
    float t = 0.0;
    for (int i = 0; i < 80; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 10.0) break; t += h; }
    if (t > 10.0) return bg;
    vec3 p = ro + rd * t, n = nrm(p);
    vec3 l = normalize(vec3(0.5, 0.8, 0.6));
    float fres = pow(1.0 - max(dot(-rd, n), 0.0), 3.0);
    vec3 alb = pal(0.6 + 0.2 * n.y);
    return alb * (0.15 + 0.85 * max(dot(n, l), 0.0)) + fres * 0.6 + pow(max(dot(reflect(rd, n), l), 0.0), 40.0);
}
