// value-noise fbm mapped through the cosine palette
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    int oct = 3 + int(uParams.x * 5.0);
    float n = fbm(p + uTime * 0.05, oct);
    return pal(n * (1.0 + uParams.y * 2.0));
}
