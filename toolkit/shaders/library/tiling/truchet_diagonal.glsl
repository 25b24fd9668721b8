// 10-PRINT: random diagonal strokes forming a maze
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (5.0 + 10.0 * uParams.x);
    vec2 id = floor(p), f = fract(p);
    if (hash12(id) > 0.5) f.x = 1.0 - f.x;
    float d = abs(f.x - f.y) / 1.4142;
    float line = smoothstep(0.12, 0.06, d);
    vec3 bg = pal(0.1 + 0.1 * hash12(id + 2.0));
    vec3 fg = pal(0.6);
    return mix(bg * 0.4, fg, line);
}
