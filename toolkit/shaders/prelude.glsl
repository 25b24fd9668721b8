// Shared by every built-in program: uniforms drawn per sample, hashes, noises, palette, helpers.
// A program defines `vec3 image(vec2 fragCoord)`; main() (appended by library.py) calls it.
uniform vec2 uResolution;   // frame size in pixels (supersampled size when supersampling)
uniform float uTime;        // 0..20
uniform float uSeed;        // 0..100, offsets every hash so one program yields many images
uniform float uZoom;        // ~0.5..3, scale of the view
uniform float uRotation;    // radians
uniform vec2 uOffset;       // view translation
uniform float uWarp;        // 0..1, strength of domain distortion where a program uses it
uniform vec3 uPalA;         // cosine palette a + b*cos(2pi(c*t + d))
uniform vec3 uPalB;
uniform vec3 uPalC;
uniform vec3 uPalD;
uniform vec4 uParams;       // four program-specific knobs in 0..1

const float PI = 3.14159265358979;
const float TAU = 6.28318530717959;

vec3 pal(float t) { return uPalA + uPalB * cos(TAU * (uPalC * t + uPalD)); }
mat2 rot(float a) { float c = cos(a), s = sin(a); return mat2(c, -s, s, c); }
vec2 centered(vec2 fc) { return (2.0 * fc - uResolution) / uResolution.y; }
vec2 view(vec2 fc) { return rot(uRotation) * centered(fc) * uZoom + uOffset; }
vec2 seedOffset() { return vec2(uSeed * 1.731, uSeed * 2.377); }

// hashes without sine (Dave Hoskins' style): stable over the whole float range we use
float hash11(float p) { p = fract(p * .1031); p *= p + 33.33; p *= p + p; return fract(p); }
float hash12(vec2 p) { p += seedOffset(); vec3 p3 = fract(vec3(p.xyx) * .1031); p3 += dot(p3, p3.yzx + 33.33); return fract((p3.x + p3.y) * p3.z); }
vec2 hash22(vec2 p) { p += seedOffset(); vec3 p3 = fract(vec3(p.xyx) * vec3(.1031, .1030, .0973)); p3 += dot(p3, p3.yzx + 33.33); return fract((p3.xx + p3.yz) * p3.zy); }
vec3 hash32(vec2 p) { p += seedOffset(); vec3 p3 = fract(vec3(p.xyx) * vec3(.1031, .1030, .0973)); p3 += dot(p3, p3.yxz + 33.33); return fract((p3.xxy + p3.yzz) * p3.zyx); }
float hash13(vec3 p3) { p3 += uSeed * 0.917; p3 = fract(p3 * .1031); p3 += dot(p3, p3.zyx + 31.32); return fract((p3.x + p3.y) * p3.z); }

float vnoise(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash12(i), hash12(i + vec2(1, 0)), u.x), mix(hash12(i + vec2(0, 1)), hash12(i + vec2(1, 1)), u.x), u.y);
}
float gnoise(vec2 p) {  // gradient noise, roughly -1..1
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    vec2 ga = hash22(i) * 2.0 - 1.0, gb = hash22(i + vec2(1, 0)) * 2.0 - 1.0;
    vec2 gc = hash22(i + vec2(0, 1)) * 2.0 - 1.0, gd = hash22(i + vec2(1, 1)) * 2.0 - 1.0;
    float a = dot(ga, f), b = dot(gb, f - vec2(1, 0)), c = dot(gc, f - vec2(0, 1)), d = dot(gd, f - vec2(1, 1));
    return 1.4 * mix(mix(a, b, u.x), mix(c, d, u.x), u.y);
}
float vnoise3(vec3 p) {
    vec3 i = floor(p), f = fract(p);
    vec3 u = f * f * (3.0 - 2.0 * f);
    float n000 = hash13(i), n100 = hash13(i + vec3(1, 0, 0)), n010 = hash13(i + vec3(0, 1, 0)), n110 = hash13(i + vec3(1, 1, 0));
    float n001 = hash13(i + vec3(0, 0, 1)), n101 = hash13(i + vec3(1, 0, 1)), n011 = hash13(i + vec3(0, 1, 1)), n111 = hash13(i + vec3(1, 1, 1));
    return mix(mix(mix(n000, n100, u.x), mix(n010, n110, u.x), u.y), mix(mix(n001, n101, u.x), mix(n011, n111, u.x), u.y), u.z);
}
float fbm(vec2 p, int oct) {
    float s = 0.0, a = 0.5;
    mat2 m = mat2(1.6, 1.2, -1.2, 1.6);
    for (int i = 0; i < oct; i++) { s += a * vnoise(p); p = m * p; a *= 0.5; }
    return s;
}
float gfbm(vec2 p, int oct) {
    float s = 0.0, a = 0.5;
    mat2 m = mat2(1.6, 1.2, -1.2, 1.6);
    for (int i = 0; i < oct; i++) { s += a * gnoise(p); p = m * p; a *= 0.5; }
    return s;
}
float fbm3(vec3 p, int oct) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < oct; i++) { s += a * vnoise3(p); p = p * 2.03 + vec3(1.7, 9.2, 3.1); a *= 0.5; }
    return s;
}
// Voronoi: x = distance to nearest feature, y = to second nearest, z = id hash of the nearest
vec3 voronoi(vec2 p, float jitter) {
    vec2 i = floor(p), f = fract(p);
    float d1 = 8.0, d2 = 8.0, id = 0.0;
    for (int y = -1; y <= 1; y++) for (int x = -1; x <= 1; x++) {
        vec2 g = vec2(x, y);
        vec2 o = hash22(i + g) * jitter;
        float d = length(g + o - f);
        if (d < d1) { d2 = d1; d1 = d; id = hash12(i + g + 17.0); } else if (d < d2) { d2 = d; }
    }
    return vec3(d1, d2, id);
}
vec3 hsv2rgb(vec3 c) { vec3 p = abs(fract(c.xxx + vec3(0., 2. / 3., 1. / 3.)) * 6. - 3.); return c.z * mix(vec3(1), clamp(p - 1., 0., 1.), c.y); }
