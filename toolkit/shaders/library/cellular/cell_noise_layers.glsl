// three octaves of Voronoi edges stacked: organic membrane texture
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    float s = 0.0, a = 0.6;
    for (int i = 0; i < 3; i++) {
        vec3 v = voronoi(p, 1.0);
        s += a * smoothstep(0.0, 0.2, v.y - v.x);
        p = rot(1.1) * p * 2.1 + 3.7;
        a *= 0.55;
    }
    return pal(s * 0.8 + uParams.x) * (0.3 + s * 0.8);
}
