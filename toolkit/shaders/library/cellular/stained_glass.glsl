// stained glass: saturated cells, lead lines, light falloff
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 3.0 * uParams.x);
    vec3 v = voronoi(p, 1.0);
    vec3 glass = hsv2rgb(vec3(v.z + uParams.y, 0.75, 0.95));
    float lead = smoothstep(0.05, 0.1, v.y - v.x);
    float glow = 0.6 + 0.5 * fbm(p * 1.5, 4);
    return glass * lead * glow;
}
