// flat-coloured Voronoi cells with dark borders (F2 - F1)
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (2.0 + 4.0 * uParams.x);
    vec3 v = voronoi(p, 0.5 + 0.5 * uWarp);
    float edge = smoothstep(0.0, 0.08, v.y - v.x);
    return pal(v.z) * edge;
}
