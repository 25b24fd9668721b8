// leopard rosettes: broken rings around Voronoi centres over a tawny base
vec3 image(vec2 fc) {
    vec2 p = view(fc) * (3.0 + 3.0 * uParams.x);
    p += 0.2 * vec2(gnoise(p * 2.0), gnoise(p * 2.0 + 9.0));
    vec3 v = voronoi(p, 0.8);
    float ring = smoothstep(0.12, 0.05, abs(v.x - 0.35));
    float broken = step(0.35, vnoise(p * 6.0));
    vec3 base = mix(vec3(0.85, 0.62, 0.3), uPalA, 0.25);
    vec3 centre = base * 0.75;
    vec3 c = mix(base, centre, smoothstep(0.35, 0.2, v.x));
    return mix(c, vec3(0.1, 0.07, 0.05), ring * broken);
}
