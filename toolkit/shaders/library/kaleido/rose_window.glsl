// rose window: radial symmetry with petals, rings and a tracery of circles
vec3 image(vec2 fc) {
    vec2 p = centered(fc) * uZoom * 0.8;
    float n = 6.0 + floor(uParams.x * 10.0);
    float a = atan(p.y, p.x), r = length(p);
    float seg = TAU / n;
    float la = mod(a + uRotation, seg) - seg * 0.5;
    vec2 q = r * vec2(cos(la), sin(la));
    float petal = length(q - vec2(0.55, 0.0)) - 0.25;
    float ring = abs(r - 0.85) - 0.03;
    float inner = abs(length(q - vec2(0.25, 0.0)) - 0.1);
    float d = min(min(abs(petal), abs(ring)), inner);
    vec3 glass = pal(floor(r * 5.0) * 0.2 + step(petal, 0.0) * 0.3);
    return mix(glass * (0.5 + 0.5 * fbm(q * 8.0, 3)), vec3(0.1), smoothstep(0.025, 0.01, d));
}
