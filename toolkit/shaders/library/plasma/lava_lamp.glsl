// lava lamp: thresholded sum of moving 2D blobs with a warm glow rim
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 0.6;
    float f = 0.0;
    for (int i = 0; i < 10; i++) {
        vec2 c = (hash22(vec2(float(i), 1.0)) - 0.5) * 2.4 + 0.3 * sin(uTime * (0.3 + hash12(vec2(float(i), 5.0))) + vec2(0.0, float(i)));
        float r = 0.1 + 0.2 * hash12(vec2(float(i), 2.0));
        f += r * r / dot(p - c, p - c);
    }
    float th = 0.8 + 0.8 * uParams.x;
    vec3 inside = pal(0.1 + f * 0.05);
    vec3 outside = pal(0.6 + p.y * 0.2) * 0.25 + pal(0.1) * smoothstep(th * 0.5, th, f) * 0.8;
    return f > th ? inside : outside;
}
