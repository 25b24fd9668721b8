// Sierpinski carpet / Vicsek cross (three-way IFS on a 3x3 grid), holes coloured by their level
vec3 image(vec2 fc) {
    vec2 p = rot(uRotation * 0.25) * centered(fc) * uZoom * 0.6 + 0.5 + uOffset * 0.1;
    bool vicsek = uParams.x > 0.5;
    float level = -1.0;
    vec2 q = p;
    for (int i = 0; i < 6; i++) {
        vec2 c = floor(mod(q * 3.0, 3.0));
        bool centre = c.x == 1.0 && c.y == 1.0;
        bool corner = c.x != 1.0 && c.y != 1.0;
        bool edge = !centre && !corner;
        if ((!vicsek && centre) || (vicsek && edge)) { level = float(i); break; }
        q = q * 3.0;
    }
    vec3 bg = pal(0.8 + p.y * 0.2) * 0.9;
    return level < 0.0 ? bg : pal(level * 0.15 + uParams.y) * (0.25 + 0.12 * level);
}
