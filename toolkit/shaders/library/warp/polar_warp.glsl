// polar-coordinate noise: radial rays bent by fbm around a centre
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float r = length(p), a = atan(p.y, p.x);
    float rays = fbm(vec2(a * (2.0 + floor(uParams.x * 6.0)) / PI * 2.0, log(r + 1e-3) * 2.0 - uTime * 0.2), 6);
    float w = fbm(vec2(a * 3.0, r * 4.0) + rays * 3.0 * uWarp, 4);
    vec3 c = pal(w + rays);
    return c * smoothstep(0.0, 0.3, r) + pal(0.9) * exp(-r * 6.0);
}
