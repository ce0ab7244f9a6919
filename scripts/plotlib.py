"""plotlib.py - the small PNG plotter that fedsyn's scripts share.

Line panels of per-round values drawn with a 5x7 bitmap font and written as
an RGB PNG (zlib): Python 3's standard library only, so the plots come out
on any machine that runs the nodes. quality-plot.py (the quality curve) and
round-history.py (a federation's per-round history) draw with it.

usage (from a script in this folder):
    import plotlib
    plotlib.figure("out.png", "a title", series, panels, "round")
where series is [(label, rows, color)], rows dicts with a "round" key, and
panels [(key, title, options for panel())].
"""
import json
import math
import os
import struct
import sys
import zlib

# 5x7 glyphs, one string of 5 bits per row (lower case is drawn as upper case)
FONT = {
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000",
    "_": "00000 00000 00000 00000 00000 00000 11111",
    ",": "00000 00000 00000 00000 01100 00100 01000",
    "=": "00000 00000 11111 00000 11111 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000",
    "'": "00100 00100 01000 00000 00000 00000 00000",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}
SCALE = 2                      # font pixels per glyph bit
CHAR_W, CHAR_H = 6 * SCALE, 7 * SCALE
COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
          (23, 190, 207), (140, 86, 75), (227, 119, 194)]
BLACK, GREY, LIGHT, WHITE = (0, 0, 0), (120, 120, 120), (225, 225, 225), (255, 255, 255)


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(bytes(WHITE) * (w * h))

    def dot(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            self.px[i:i + 3] = bytes(c)

    def rect(self, x0, y0, x1, y1, c):
        for y in range(max(0, y0), min(self.h, y1 + 1)):
            for x in range(max(0, x0), min(self.w, x1 + 1)):
                self.dot(x, y, c)

    def line(self, x0, y0, x1, y1, c, width=1):
        # Bresenham; a wider line is a square brush along it
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, r = dx + dy, width // 2
        while True:
            self.rect(x0 - r, y0 - r, x0 - r + width - 1, y0 - r + width - 1, c)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x, y, s, c=BLACK):
        for ch in s.upper():
            rows = FONT.get(ch, FONT["-"]).split()
            for j, row in enumerate(rows):
                for i, bit in enumerate(row):
                    if bit == "1":
                        self.rect(x + i * SCALE, y + j * SCALE, x + (i + 1) * SCALE - 1,
                                  y + (j + 1) * SCALE - 1, c)
            x += CHAR_W

    def png(self, path):
        raw = b"".join(b"\0" + bytes(self.px[3 * y * self.w:3 * (y + 1) * self.w])
                       for y in range(self.h))

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data +
                    struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
        tmp = "%s.tmp.%d" % (path, os.getpid())  # a crash leaves no half PNG
        with open(tmp, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h,
                                                                       8, 2, 0, 0, 0)) +
                    chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
        os.replace(tmp, path)


def nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 10))
    return ticks, step


def log_ticks(lo, hi):
    ticks = []
    for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** k
            if lo <= v <= hi:
                ticks.append(v)
    return ticks or [lo, hi]


def fmt(v, step=None):
    if step is not None and step >= 1 or v == int(v) and abs(v) >= 1:
        return "%d" % round(v)
    return ("%.2f" % v).rstrip("0").rstrip(".")


def panel(cv, box, series, key, title, lo=None, hi=None, log=False, percent=False,
          xspan=None):
    """Draws one metric's curves in box (x0, y0, x1, y1); series: (label, rows, color);
    xspan: the (first, last) round of the x axis (default: those with values)."""
    x0, y0, x1, y1 = box
    points = [(r["round"], r[key] * (100 if percent else 1))
              for _, rows, _ in series for r in rows
              if isinstance(r.get(key), (int, float)) and "round" in r]
    cv.text(x0, y0 - CHAR_H - 8, title)
    cv.rect(x0, y0, x1, y0, GREY)
    cv.rect(x0, y1, x1, y1, GREY)
    cv.rect(x0, y0, x0, y1, GREY)
    cv.rect(x1, y0, x1, y1, GREY)
    if not points:
        cv.text(x0 + 20, (y0 + y1) // 2, "no values", GREY)
        return
    rounds = [p[0] for p in points]
    values = [p[1] for p in points]
    rlo, rhi = xspan if xspan else (min(rounds), max(rounds))
    if rhi == rlo:
        rlo, rhi = rlo - 1, rhi + 1
    if log:
        pos = [v for v in values if v > 0]
        vlo, vhi = (min(pos), max(pos)) if pos else (1, 10)
        if vhi <= vlo:
            vlo, vhi = vlo / 2, vhi * 2
        yt = log_ticks(vlo, vhi)
        vlo, vhi = min(vlo, yt[0]), max(vhi, yt[-1])
        ystep = None

        def ymap(v):
            v = max(v, vlo)
            return y1 - round((math.log(v) - math.log(vlo)) / (math.log(vhi) - math.log(vlo)) *
                              (y1 - y0))
    else:
        vlo = min(values) if lo is None else lo
        vhi = max(values) if hi is None else hi
        yt, ystep = nice_ticks(vlo, vhi)
        vlo, vhi = yt[0], yt[-1]

        def ymap(v):
            return y1 - round((v - vlo) / (vhi - vlo) * (y1 - y0))
    xt, xstep = nice_ticks(rlo, rhi, 8)
    xt = [t for t in xt if t == int(t)]
    rlo, rhi = min(rlo, xt[0]), max(rhi, xt[-1])

    def xmap(r):
        return x0 + round((r - rlo) / (rhi - rlo) * (x1 - x0))
    for t in yt:
        y = ymap(t)
        cv.rect(x0 + 1, y, x1 - 1, y, LIGHT)
        s = fmt(t, ystep) + ("%" if percent else "")
        cv.text(x0 - len(s) * CHAR_W - 6, y - CHAR_H // 2, s, GREY)
    for t in xt:
        x = xmap(t)
        cv.rect(x, y1, x, y1 + 4, GREY)
        s = "%d" % t
        cv.text(x - len(s) * CHAR_W // 2, y1 + 8, s, GREY)
    for _, rows, color in series:
        prev = None
        for r in rows:
            v = r.get(key)
            if not isinstance(v, (int, float)) or "round" not in r:
                prev = None  # a gap: null (an unconditional model, a diverged score)
                continue
            p = (xmap(r["round"]), ymap(v * (100 if percent else 1)))
            if prev:
                cv.line(prev[0], prev[1], p[0], p[1], color, 2)
            cv.rect(p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2, color)
            prev = p


def read_jsonl(path, prog):
    """The JSON objects of a JSON-lines file, one per line; a torn last line
    (a writer cut short) and lines that are not JSON are skipped with a
    warning that names the file and line."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                print("%s: %s:%d: a torn last line (skipped)" % (prog, path, n),
                      file=sys.stderr)
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                print("%s: %s:%d: not JSON (skipped)" % (prog, path, n), file=sys.stderr)
    return rows


def figure(out, title, series, panels, xlabel, width=900):
    """Draws panels (key, title, options[, their own series]) one above the
    other, a legend of series (label, rows, color) and the title (wrapped at
    words) into the PNG out; returns its (width, height)."""
    title_lines, cols = [], (width - 32) // CHAR_W
    for word in title.split():
        if title_lines and len(title_lines[-1]) + 1 + len(word) <= cols:
            title_lines[-1] += " " + word
        else:
            title_lines.append(word[:cols])
    left, right, ph, gap = 110, 30, 200, 80
    top = 70 + len(title_lines) * (CHAR_H + 10)
    height = top + len(panels) * ph + (len(panels) - 1) * gap + 2 * CHAR_H + 34
    cv = Canvas(width, height)
    y = 16
    for line in title_lines:
        cv.text(16, y, line)
        y += CHAR_H + 10
    x = left
    for label, _, color in series:  # the legend
        cv.rect(x, y + 2, x + 16, y + CHAR_H - 2, color)
        cv.text(x + 22, y, label)
        x += 22 + (len(label) + 3) * CHAR_W
    y = top
    for key, ptitle, opts, *own in panels:
        panel(cv, (left, y, width - right, y + ph), own[0] if own else series, key, ptitle,
              **opts)
        y += ph + gap
    cv.text(left + (width - left - right) // 2 - len(xlabel) * CHAR_W // 2,
            height - CHAR_H - 4, xlabel, GREY)
    cv.png(out)
    return width, height
