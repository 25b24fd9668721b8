// inside a gyroid cave: ray-marched implicit surface lit by a lamp at the camera
float map(vec3 p) {
    float s = 1.5 + uParams.x;
    vec3 q = p * s;
    float g = abs(dot(sin(q), cos(q.yzx))) / s - 0.1 - 0.15 * uParams.y;
    return g * 0.6;
}
vec3 nrm(vec3 p) { vec2 e = vec2(1e-3, 0.0); return normalize(vec3(map(p + e.xyy) - map(p - e.xyy), map(p + e.yxy) - map(p - e.yxy), map(p + e.yyx) - map(p - e.yyx))); }
vec3 image(vec2 fc) {
    vec2 uv = centered(fc);
    vec3 ro = vec3(uOffset, uTime * 0.3);
    for (int i = 0; i < 8; i++) { float h = map(ro); if (h > 0.05) break; ro.z += 0.3; }
    vec3 rd = normalize(vec3(uv, 1.3));
    rd.xz = rot(uRotation) * rd.xz;
    float t = 0.0;
    for (int i = 0; i < 100; i++) { float h = map(ro + rd * t); if (h < 1e-3 || t > 15.0) break; t += h; }
    vec3 p = ro + rd * t, n = nrm(p);
    float dif = max(dot(n, -rd), 0.0);
    vec3 alb = pal(fbm(p.xy * 2.0, 3) + 0.2 * p.z);
    vec3 col = alb * dif / (1.0 + 0.15 * t * t) + pow(dif, 30.0) * 0.3;
    return col + pal(0.8) * 0.02 * t;
}
