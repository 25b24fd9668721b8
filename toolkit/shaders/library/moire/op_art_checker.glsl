// op-art: a checkerboard bulged by a lens, in two palette colours
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float r = length(p);
    float bulge = 1.0 + (0.5 + uWarp) * exp(-r * r * (1.0 + 2.0 * uParams.x));
    vec2 q = rot(uRotation) * p / bulge * (4.0 + 6.0 * uParams.y);
    float chk = mod(floor(q.x) + floor(q.y), 2.0);
    return mix(pal(0.1), pal(0.6), chk);
}
