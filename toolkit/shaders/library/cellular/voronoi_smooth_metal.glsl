// smooth-min Voronoi shaded as a bumpy metal surface with a light
float svor(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    float res = 0.0;
    for (int y = -2; y <= 2; y++) for (int x = -2; x <= 2; x++) {
        vec2 g = vec2(x, y);
        float d = length(g + hash22(i + g) - f);
        res += exp(-8.0 * d);
    }
    return -(1.0 / 8.0) * log(res);
}
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 3.0;
    float e = 0.01;
    float h = svor(p);
    vec3 n = normalize(vec3(svor(p + vec2(e, 0)) - h, svor(p + vec2(0, e)) - h, e * 0.6));
    vec3 l = normalize(vec3(cos(uParams.x * TAU), sin(uParams.x * TAU), 0.8));
    float dif = max(dot(n, l), 0.0);
    float spec = pow(max(dot(reflect(-l, n), vec3(0, 0, 1)), 0.0), 24.0);
    return pal(h) * (0.2 + 0.8 * dif) + spec * 0.6;
}
