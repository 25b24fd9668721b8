// phoenix-type fractal: z_{n+1} = z_n^2 + c + p*z_{n-1}
vec3 image(vec2 fc) {
    vec2 z = rot(uRotation + 1.5708) * centered(fc) * (0.7 + 0.4 * uZoom);
    vec2 c = vec2(0.5667 + 0.05 * (uParams.x - 0.5), 0.0);
    vec2 pp = vec2(-0.5 + 0.1 * (uParams.y - 0.5), 0.0);
    vec2 zp = vec2(0.0);
    float n = 0.0;
    for (int i = 0; i < 200; i++) {
        vec2 zn = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c + vec2(pp.x * zp.x - pp.y * zp.y, pp.x * zp.y + pp.y * zp.x);
        zp = z; z = zn;
        if (dot(z, z) > 16.0) break;
        n += 1.0;
    }
    return n >= 200.0 ? pal(length(z)) * 0.3 : pal(n * 0.03);
}
