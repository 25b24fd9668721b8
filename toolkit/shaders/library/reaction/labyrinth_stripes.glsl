// labyrinthine stripes (reaction-diffusion at stripe parameters): sharpened sine of warped noise
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 3.0;
    float n = gfbm(p * 0.8, 5) * (6.0 + 8.0 * uParams.x);
    n += gnoise(p * 3.0) * uWarp;
    float s = smoothstep(-0.2, 0.2, sin(n * 3.0));
    return mix(uPalA * 0.2, mix(vec3(0.95), pal(0.4), uParams.y), s);
}
