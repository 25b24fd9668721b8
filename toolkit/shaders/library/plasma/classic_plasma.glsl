// demoscene plasma: sum of sines in x, y, radius and diagonal
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 3.0;
    float v = sin(p.x + uTime) + sin(p.y * (0.5 + uParams.x) + uTime * 0.7);
    v += sin(length(p - vec2(sin(uTime), cos(uTime))) * (1.0 + uParams.y * 2.0));
    v += sin((p.x + p.y) * 0.7 + uSeed);
    return pal(v * 0.25);
}
