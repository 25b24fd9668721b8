// mandala: sums of angular harmonics modulating radial waves
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float a = atan(p.y, p.x) + uRotation, r = length(p);
    float k = 5.0 + floor(uParams.x * 10.0);
    float v = sin(r * (10.0 + 20.0 * uParams.y) - uTime + 3.0 * uWarp * cos(a * k));
    v += 0.5 * cos(a * k * 2.0 + r * 6.0);
    return pal(v * 0.25 + r * 0.3) * (0.6 + 0.4 * v);
}
