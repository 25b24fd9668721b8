// zebra-like stripes: a sine of a noise-distorted coordinate thresholded
vec3 image(vec2 fc) {
    vec2 p = view(fc);
    float d = p.x * (4.0 + 6.0 * uParams.x) + 2.5 * (0.3 + uWarp) * fbm(p * 1.5, 5) * 4.0;
    float s = smoothstep(-0.15, 0.15, sin(d * 2.0));
    return mix(vec3(0.05, 0.04, 0.04), mix(vec3(0.95, 0.93, 0.9), pal(0.3), uParams.y * 0.6), s);
}
