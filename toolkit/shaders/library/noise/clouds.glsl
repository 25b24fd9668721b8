// soft cumulus clouds over a sky gradient, fbm with coverage threshold
vec3 image(vec2 fc) {
    vec2 uv = fc / uResolution;
    vec2 p = view(fc) * 1.2 + vec2(uTime * 0.1, 0.0);
    float n = fbm(p, 7);
    float cover = 0.35 + 0.3 * uParams.x;
    float d = smoothstep(cover, cover + 0.35, n);
    vec3 sky = mix(vec3(0.25, 0.45, 0.85), vec3(0.7, 0.85, 1.0), uv.y) * (0.6 + 0.6 * uPalA);
    vec3 cloud = mix(vec3(1.0), pal(n) * 0.8 + 0.2, 0.25 + 0.3 * uParams.y) * (0.75 + 0.35 * fbm(p * 2.0 + 4.0, 4));
    return mix(sky, cloud, d);
}
