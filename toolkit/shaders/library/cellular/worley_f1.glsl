// Worley F1 distance as height: bubbly, inverted or not
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 3.0;
    float f = voronoi(p, 1.0).x;
    float f2 = voronoi(p * 2.3 + 7.0, 1.0).x;
    float h = f * 0.7 + f2 * 0.3;
    h = uParams.x > 0.5 ? 1.0 - h : h;
    return pal(h * 1.2) * (0.3 + h);
}
