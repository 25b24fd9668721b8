// a fern drawn as a point-density: chaos-game orbit per pixel neighbourhood, accumulated in-shader
vec3 image(vec2 fc) {
    vec2 uv = (fc - vec2(0.5 * uResolution.x, 0.0)) / uResolution.y;
    vec2 target = uv * vec2(11.0, 11.0) + vec2(0.0, -0.2) ;
    target.x += (uParams.x - 0.5) * 2.0;
    vec2 p = vec2(0.0);
    float acc = 0.0;
    float h = hash12(fc * 0.01);
    for (int i = 0; i < 400; i++) {
        h = fract(h * 17.13 + 0.31 + float(i) * 0.618);
        if (h < 0.01) p = vec2(0.0, 0.16 * p.y);
        else if (h < 0.86) p = vec2(0.85 * p.x + 0.04 * p.y, -0.04 * p.x + 0.85 * p.y + 1.6);
        else if (h < 0.93) p = vec2(0.2 * p.x - 0.26 * p.y, 0.23 * p.x + 0.22 * p.y + 1.6);
        else p = vec2(-0.15 * p.x + 0.28 * p.y, 0.26 * p.x + 0.24 * p.y + 0.44);
        acc += exp(-dot(p - target, p - target) * (40.0 + 60.0 * uParams.y));
    }
    vec3 bg = pal(uv.y * 0.3) * 0.25;
    return bg + vec3(0.2, 0.9, 0.3) * mix(vec3(1.0), uPalA * 2.0, 0.3) * min(acc * 0.15, 1.0);
}
