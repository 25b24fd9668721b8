// coral-like branching growth: Voronoi ridges masked by a worm-like noise threshold
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.5;
    vec3 v = voronoi(p * 2.0 + gfbm(p, 3) * (0.5 + uWarp), 1.0);
    float ridge = smoothstep(0.15, 0.0, v.y - v.x);
    float mask = smoothstep(0.45, 0.55, fbm(p * 0.8, 4) + 0.1 * uParams.x);
    vec3 base = pal(0.2) * 0.25;
    return mix(base, pal(0.55 + 0.2 * v.z), ridge * mask + 0.3 * mask * (1.0 - v.x));
}
