// dried mud: cellular cracks over noisy soil, with shading inside each plate
vec3 image(vec2 fc) {
    vec2 p = view(fc) * 3.0;
    p += 0.3 * uWarp * vec2(gnoise(p * 2.0), gnoise(p * 2.0 + 5.0));
    vec3 v = voronoi(p, 0.9);
    float crack = smoothstep(0.02, 0.07 + 0.05 * uParams.x, v.y - v.x);
    float soil = fbm(p * 4.0, 5);
    vec3 base = mix(vec3(0.55, 0.4, 0.25), uPalA, 0.3) * (0.7 + 0.5 * soil) * (0.85 + 0.3 * v.z);
    return base * crack * (1.0 - 0.5 * v.x);
}
