// turbulence: summed absolute gradient noise, marble-like veins through a sine
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 2.0;
    float t = 0.0, a = 1.0;
    for (int i = 0; i < 6; i++) { t += a * abs(gnoise(p)); p *= 2.0; a *= 0.5; }
    float v = sin(p.x * 0.02 * (1.0 + uParams.x * 4.0) + t * (4.0 + 8.0 * uWarp));
    vec3 c = mix(pal(t), vec3(0.95, 0.93, 0.88), smoothstep(-0.2, 1.0, v));
    return c;
}
