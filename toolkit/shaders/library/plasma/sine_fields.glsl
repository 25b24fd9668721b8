// a field of sine rings rotated and multiplied: colourful lattice of interference cells
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 4.0;
    vec3 c = vec3(0.0);
    for (int i = 0; i < 3; i++) {
        vec2 q = rot(float(i) * (0.4 + uParams.x)) * p;
        c[i] = 0.5 + 0.5 * sin(q.x * (1.0 + uWarp) + sin(q.y * 1.3 + uTime) * 2.0);
    }
    return mix(c, pal(c.r * c.g + c.b), uParams.y);
}
