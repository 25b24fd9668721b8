// circular waves from several point sources interfering, shown as intensity
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float k = 15.0 + 30.0 * uParams.x;
    vec2 amp = vec2(0.0);
    int n = 2 + int(uParams.y * 4.0);
    for (int i = 0; i < 6; i++) {
        if (i >= n) break;
        vec2 s = (hash22(vec2(float(i), 7.0)) - 0.5) * 2.5 + uOffset;
        float ph = length(p - s) * k - uTime;
        amp += vec2(cos(ph), sin(ph)) / (1.0 + length(p - s));
    }
    float I = dot(amp, amp);
    return pal(I * 0.3) * min(I * 0.8, 1.5);
}
