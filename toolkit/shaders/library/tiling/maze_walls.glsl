// tile-based maze: each cell opens toward a random neighbour, drawn as corridors with shadows
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (4.0 + 6.0 * uParams.x);
    vec2 id = floor(p), f = fract(p) - 0.5;
    float h = hash12(id);
    vec2 dir = h < 0.25 ? vec2(1, 0) : h < 0.5 ? vec2(-1, 0) : h < 0.75 ? vec2(0, 1) : vec2(0, -1);
    float w = 0.22;
    float corridor = max(step(abs(f.x), w) * step(abs(f.y), w),
                         step(0.0, dot(f, dir)) * step(abs(dot(f, vec2(dir.y, -dir.x))), w));
    vec3 wall = pal(0.2) * (0.6 + 0.4 * hash12(id + 1.0));
    vec3 floorc = pal(0.7) * (0.8 + 0.2 * vnoise(p * 8.0));
    return mix(wall, floorc, corridor);
}
