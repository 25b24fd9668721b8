// fine line gratings rotated against each other
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom;
    float f = 60.0 + 80.0 * uParams.x;
    float g1 = step(0.5, fract(dot(p, vec2(1, 0)) * f));
    float g2 = step(0.5, fract(dot(rot(0.03 + 0.2 * uParams.y) * p, vec2(1, 0)) * f * (1.0 + 0.1 * uWarp)));
    return vec3(0.05) + pal(p.y * 0.3) * g1 * 0.6 + pal(0.5 + p.x * 0.3) * g2 * 0.6;
}
