// layered brush strokes: oriented elongated blobs with bristle streaks, painterly
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    vec3 col = pal(0.9) * 0.8 + 0.2;
    for (int layer = 0; layer < 3; layer++) {
        float sc = 2.0 + float(layer) * 1.5;
        vec2 q = p * sc + float(layer) * 11.0;
        for (int y = -1; y <= 1; y++) for (int x = -1; x <= 1; x++) {
            vec2 id = floor(q) + vec2(x, y);
            vec2 c = id + hash22(id);
            float ang = hash12(id + 1.0) * PI * (0.2 + uWarp);
            vec2 d = rot(ang) * (q - c);
            float len = 0.6 + 0.6 * hash12(id + 2.0);
            float e = length(d / vec2(len, 0.18 + 0.1 * uParams.x));
            float bristle = 0.8 + 0.2 * sin(d.y * 120.0 + hash12(id) * 10.0);
            col = mix(col, pal(hash12(id + 5.0) * 0.6 + float(layer) * 0.15) * bristle, smoothstep(1.0, 0.85, e) * 0.9);
        }
    }
    return col;
}
