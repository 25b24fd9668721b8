// recursive rectangle subdivision (Mondrian/Bauhaus): thick black lines, few saturated colours
vec3 image(vec2 fc) {
    vec2 p = fc / uResolution + uOffset * 0.1;
    vec2 lo = vec2(0.0), hi = vec2(1.0);
    float id = 0.0;
    for (int i = 0; i < 6; i++) {
        float h = hash12(vec2(id, float(i)));
        float cut = 0.3 + 0.4 * hash12(vec2(id, float(i) + 10.0));
        if (h < 0.5) { float x = mix(lo.x, hi.x, cut); if (p.x < x) { hi.x = x; id = id * 2.0 + 1.0; } else { lo.x = x; id = id * 2.0 + 2.0; } }
        else { float y = mix(lo.y, hi.y, cut); if (p.y < y) { hi.y = y; id = id * 2.0 + 3.0; } else { lo.y = y; id = id * 2.0 + 4.0; } }
    }
    vec2 d = min(p - lo, hi - p);
    float line = step(min(d.x, d.y), 0.006 + 0.01 * uParams.x);
    float k = hash12(vec2(id, 99.0));
    vec3 c = k < 0.55 ? vec3(0.95, 0.93, 0.88) : k < 0.7 ? vec3(0.85, 0.1, 0.1) : k < 0.85 ? vec3(0.1, 0.2, 0.7) : vec3(0.95, 0.8, 0.1);
    c = mix(c, pal(k), uParams.y * 0.6);
    return mix(c, vec3(0.05), line);
}
