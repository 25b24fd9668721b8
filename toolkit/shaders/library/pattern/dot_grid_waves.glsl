// a grid of dots whose size and colour follow a travelling wave
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (6.0 + 8.0 * uParams.x);
    vec2 id = floor(p), f = fract(p) - 0.5;
    float w = sin(length(id) * (0.3 + 0.5 * uParams.y) - uTime) * 0.5 + 0.5;
    float d = length(f) - 0.1 - 0.35 * w;
    return mix(pal(0.0) * 0.15, pal(w * 0.7 + 0.2), smoothstep(0.03, 0.0, d));
}
