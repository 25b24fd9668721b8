// Mandelbrot with an orbit trap (distance to a line and a point) for coloured filaments
vec3 image(vec2 fc) {
    vec2 c = vec2(-0.745, 0.186) + rot(uRotation) * centered(fc) * 0.01 * (0.2 + uZoom);
    c += (vec2(uParams.x, uParams.y) - 0.5) * 0.01;
    vec2 z = vec2(0.0);
    float trap = 1e9, trap2 = 1e9;
    for (int i = 0; i < 300; i++) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
        trap = min(trap, abs(z.y + 0.2 * z.x));
        trap2 = min(trap2, length(z - vec2(0.3, 0.1)));
        if (dot(z, z) > 64.0) break;
    }
    return pal(log(trap + 1e-4) * 0.15) * 0.7 + pal(log(trap2 + 1e-4) * 0.2 + 0.5) * 0.3;
}
