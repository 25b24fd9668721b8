// sunburst: alternating angular rays with a radial gradient and centre disc
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom - uOffset * 0.3;
    float a = atan(p.y, p.x) + uRotation, r = length(p);
    float n = 8.0 + floor(uParams.x * 24.0);
    float ray = step(0.5, fract(a / TAU * n + 0.2 * sin(r * 4.0 * uWarp)));
    vec3 c = mix(pal(0.1 + r * 0.2), pal(0.5 + r * 0.2), ray);
    return mix(pal(0.9), c, smoothstep(0.15, 0.17, r)) * (1.2 - 0.3 * r);
}
