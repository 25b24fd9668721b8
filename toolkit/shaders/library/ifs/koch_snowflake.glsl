// Koch snowflake distance via repeated folding; filled inside, glow outside
vec3 image(vec2 fc) {
    vec2 p = rot(uRotation) * centered(fc) * uZoom * 0.9;
    p = abs(p);
    float a = PI / 6.0;
    p = vec2(p.x * cos(a) - p.y * sin(a), p.x * sin(a) + p.y * cos(a));
    p.x = abs(p.x);
    float s = 1.0;
    vec2 n = vec2(sin(5.0 * PI / 6.0), cos(5.0 * PI / 6.0));
    p.y += 0.3;
    float scale = 1.0;
    for (int i = 0; i < 6; i++) {
        p *= 3.0; scale *= 3.0;
        p.x -= 1.5;
        p.x = abs(p.x) - 0.5;
        p -= n * min(0.0, dot(p, n)) * 2.0;
    }
    float d = length(p - vec2(clamp(p.x, -1.0, 1.0), 0.0)) * sign(p.y) / scale;
    vec3 inside = pal(0.2 + d * 8.0);
    vec3 outside = pal(0.7) * exp(-abs(d) * (20.0 + 60.0 * uParams.x));
    return d < 0.0 ? inside : outside + 0.05;
}
