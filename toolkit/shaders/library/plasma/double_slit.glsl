// two-slit diffraction: a bright fringe pattern spreading from an aperture wall
vec3 image(vec2 fc) {
    vec2 p = rot(uRotation) * centered(fc) * uZoom + vec2(1.0, 0.0);
    float sep = 0.2 + 0.4 * uParams.x;
    float k = 40.0 + 60.0 * uParams.y;
    if (p.x < 0.0) {
        float ph = p.x * k;
        return pal(0.1) * (0.5 + 0.5 * cos(ph)) * 0.5;
    }
    float d1 = length(p - vec2(0.0, sep)), d2 = length(p - vec2(0.0, -sep));
    vec2 a = vec2(cos(d1 * k), sin(d1 * k)) / sqrt(d1 + 0.05) + vec2(cos(d2 * k), sin(d2 * k)) / sqrt(d2 + 0.05);
    float I = dot(a, a) * 0.3;
    return pal(0.6 + I * 0.1) * I;
}
