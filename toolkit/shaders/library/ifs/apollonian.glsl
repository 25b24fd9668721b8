// Apollonian-like gasket by sphere inversion folding; orbit-trap colouring
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 0.6;
    float scale = 1.0, trap = 1e9;
    float k = 1.2 + 0.4 * uParams.x;
    for (int i = 0; i < 9; i++) {
        p = -1.0 + 2.0 * fract(0.5 * p + 0.5);
        float r2 = dot(p, p);
        trap = min(trap, r2);
        float kk = k / r2;
        p *= kk;
        scale *= kk;
    }
    float d = 0.25 * abs(p.y) / scale;
    return pal(log(trap) * 0.2 + uParams.y) * smoothstep(0.0, 0.004, d) + pal(0.5) * 0.1;
}
