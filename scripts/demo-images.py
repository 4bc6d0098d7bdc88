#!/usr/bin/env python3
"""Draws the demo catalog's pictures (one flat illustration per product of Sources/ShopLocal/DemoCatalog.swift) as
400x400 WebP files and writes them into Sources/ShopLocal/DemoPictures.swift as base64, so that `shop serve` and
`shop seed` carry them in the binary and store them through the local image store when they seed the catalog.

Needs Pillow with WebP (python3 -m venv /tmp/pillow && /tmp/pillow/bin/pip install pillow). Run from anywhere:

    /tmp/pillow/bin/python scripts/demo-images.py                 # rewrites Sources/ShopLocal/DemoPictures.swift
    /tmp/pillow/bin/python scripts/demo-images.py --out /tmp/pics  # and writes the .webp files there, to look at

Shapes only, no text or fonts: the same Pillow and libwebp give the same bytes. The Swift is laid out as
`swift format` lays it out. The product's shape sits in the
middle 300 pixels of height, which is what the website's 4:3 cards show of a square picture.
"""
import argparse
import base64
import io
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SWIFT = ROOT / "Sources" / "ShopLocal" / "DemoPictures.swift"
SIZE = 400
S = 2  # drawn at twice the size, then scaled down: smooth edges
QUALITY = 82

BACKGROUNDS = {"coffee": "#f1e6d6", "kitchen": "#e2ebe4", "books": "#e1e8f2", "outdoor": "#e6ead8"}
SPOTS = {"coffee": "#f8f1e7", "kitchen": "#eef4ef", "books": "#eef2f8", "outdoor": "#f1f3e8"}
SHADOW = "#00000018"


class Canvas:
    """A square picture drawn in 400-pixel coordinates at S times the resolution."""

    def __init__(self, category):
        self.image = Image.new("RGBA", (SIZE * S, SIZE * S), BACKGROUNDS[category])
        self.draw = ImageDraw.Draw(self.image)
        self.dy = 0
        self.ellipse((60, 40, 340, 320), SPOTS[category])

    def _xy(self, box):
        """A box (x0, y0, x1, y1) at the drawing's scale, moved down by `dy` (for a tall product)."""
        return [(v + (self.dy if i % 2 else 0)) * S for i, v in enumerate(box)]

    def _points(self, points):
        return [(x * S, (y + self.dy) * S) for x, y in points]

    def rect(self, box, fill, radius=0):
        if radius:
            self.draw.rounded_rectangle(self._xy(box), radius * S, fill=fill)
        else:
            self.draw.rectangle(self._xy(box), fill=fill)

    def ellipse(self, box, fill=None, outline=None, width=0):
        self.draw.ellipse(self._xy(box), fill=fill, outline=outline, width=width * S)

    def polygon(self, points, fill):
        self.draw.polygon(self._points(points), fill=fill)

    def line(self, points, fill, width):
        self.draw.line(self._points(points), fill=fill, width=width * S, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            r = width / 2
            self.ellipse((x - r, y - r, x + r, y + r), fill)

    def arc(self, box, start, end, fill, width):
        self.draw.arc(self._xy(box), start, end, fill=fill, width=width * S)

    def shadow(self, cx, y, w):
        layer = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).ellipse(self._xy((cx - w / 2, y - 9, cx + w / 2, y + 9)), fill=SHADOW)
        self.image.alpha_composite(layer)

    def overlay(self, draw_on):
        """Draws `draw_on(canvas)` on a transparent layer and composites it: for see-through glass."""
        layer = Canvas.__new__(Canvas)
        layer.image = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        layer.draw = ImageDraw.Draw(layer.image)
        layer.dy = self.dy
        draw_on(layer)
        self.image.alpha_composite(layer.image)

    def webp(self):
        small = self.image.convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)
        out = io.BytesIO()
        small.save(out, "WEBP", quality=QUALITY, method=6)
        return out.getvalue()


def bean(c, cx, cy, r, fill, groove):
    c.ellipse((cx - r * 0.72, cy - r, cx + r * 0.72, cy + r), fill)
    c.line([(cx - r * 0.08, cy - r * 0.8), (cx + r * 0.18, cy - r * 0.2), (cx - r * 0.18, cy + r * 0.3),
            (cx + r * 0.06, cy + r * 0.8)], groove, max(2, int(r * 0.16)))


def coffee_bag(bag, label, accent, big=False, band=None):
    """A stand-up pouch with a folded top, a label and a bean on it."""
    def draw(c):
        w, top, bottom = (150, 68, 318) if big else (124, 92, 312)
        x0, x1 = 200 - w / 2, 200 + w / 2
        c.shadow(200, bottom, w + 40)
        c.polygon([(x0 + 6, top + 26), (x1 - 6, top + 26), (x1, bottom), (x0, bottom)], bag)
        c.rect((x0 + 4, top, x1 - 4, top + 30), bag, radius=3)
        c.rect((x0 + 4, top + 22, x1 - 4, top + 30), "#00000022")
        c.line([(x0 + 14, top + 10), (x1 - 14, top + 10)], "#ffffff55", 2)
        ly0 = top + (bottom - top) * 0.36
        c.rect((x0 + 18, ly0, x1 - 18, ly0 + (bottom - top) * 0.44), label, radius=6)
        if band:
            c.rect((x0 + 18, ly0 + (bottom - top) * 0.34, x1 - 18, ly0 + (bottom - top) * 0.44), band, radius=0)
        bean(c, 200, ly0 + (bottom - top) * 0.17, 16 if not big else 19, accent, label)
        c.rect((200 - 26, ly0 + (bottom - top) * 0.29, 200 + 26, ly0 + (bottom - top) * 0.29 + 4), accent)
    return draw


def mugs(c):
    """Two stoneware mugs: chalk and charcoal."""
    c.shadow(200, 290, 250)
    for x, body, glaze in ((130, "#ece7de", "#d9d2c5"), (262, "#3b3f45", "#2b2e33")):
        c.arc((x + 34, 185, x + 94, 255), -80, 80, body, 14)
        c.rect((x - 56, 150, x + 56, 292), body, radius=14)
        c.rect((x - 56, 150, x + 56, 166), glaze, radius=8)
        c.rect((x - 48, 270, x + 48, 292), glaze, radius=8)


def filters(c):
    """Cone paper filters, fanned out: a crimped seam along one side and the bottom."""
    c.shadow(200, 300, 240)
    for angle, shade in ((-9, "#efe9dc"), (0, "#f7f3ea"), (9, "#fffdf8")):
        turn = math.radians(angle)

        def at(x, y):
            x, y = x - 200, y - 300
            return (200 + x * math.cos(turn) - y * math.sin(turn), 300 + x * math.sin(turn) + y * math.cos(turn))
        c.polygon([at(112, 110), at(288, 110), at(228, 296), at(172, 296)], shade)
        c.polygon([at(112, 110), at(126, 110), at(184, 296), at(172, 296)], "#d6ccb8")
        c.polygon([at(172, 284), at(228, 284), at(228, 296), at(172, 296)], "#d6ccb8")


def grinder(c):
    """A hand grinder: steel body, a crank and a wooden knob."""
    c.dy = 14
    c.shadow(200, 312, 150)
    c.rect((154, 150, 246, 312), "#b8bec6", radius=10)
    c.rect((164, 150, 176, 312), "#d7dce2")
    c.rect((150, 236, 250, 252), "#8d949d", radius=4)
    c.rect((160, 124, 240, 152), "#8d949d", radius=8)
    c.rect((196, 96, 206, 126), "#5d646d")
    c.line([(201, 100), (300, 86)], "#5d646d", 10)
    c.rect((286, 50, 314, 92), "#9a6b45", radius=12)


def kettle(c):
    """A gooseneck pour-over kettle."""
    c.shadow(190, 302, 230)
    c.line([(126, 272), (96, 254), (80, 210), (74, 164), (52, 134)], "#2e3338", 11)
    c.rect((110, 168, 270, 302), "#3a3f45", radius=36)
    c.rect((124, 168, 148, 302), "#4a5058")
    c.rect((130, 150, 250, 176), "#2e3338", radius=10)
    c.ellipse((180, 128, 200, 148), "#b58a5b")
    c.arc((232, 170, 316, 280), -90, 90, "#b58a5b", 14)


def dripper(c):
    """A glazed porcelain cone dripper on its base ring."""
    glaze, rim, ribs = "#d98b6c", "#e7a68b", "#c47558"
    c.shadow(200, 290, 220)
    c.rect((130, 262, 270, 278), rim, radius=6)
    c.rect((160, 240, 240, 264), ribs, radius=4)
    c.arc((244, 150, 312, 226), -90, 90, glaze, 14)
    c.polygon([(110, 120), (290, 120), (236, 246), (164, 246)], glaze)
    c.rect((106, 112, 294, 128), rim, radius=6)
    for dx in (-40, 0, 40):
        c.line([(200 + dx, 140), (200 + dx * 0.5, 232)], ribs, 4)


def glass_mugs(c):
    """Two double-walled glasses with coffee in them."""
    c.shadow(200, 292, 260)
    for x, coffee in ((140, "#6b4226"), (262, "#8a5a36")):
        def glass(layer, x=x):
            layer.rect((x - 54, 132, x + 54, 292), "#ffffff88", radius=18)
            layer.arc((x + 30, 170, x + 88, 250), -80, 80, "#ffffffaa", 10)
        c.overlay(glass)
        c.rect((x - 42, 182, x + 42, 278), coffee, radius=12)
        c.rect((x - 42, 182, x + 42, 196), "#c69c6d", radius=6)
        c.rect((x - 44, 142, x - 36, 270), "#ffffffaa", radius=4)


def scale(c):
    """A flat coffee scale with its display."""
    c.shadow(200, 282, 300)
    c.rect((70, 190, 330, 282), "#2d3136", radius=16)
    c.rect((84, 196, 316, 250), "#3b4046", radius=10)
    c.rect((150, 256, 250, 276), "#15181b", radius=4)
    for i in range(4):
        c.rect((160 + i * 22, 261, 174 + i * 22, 271), "#7fd1ae", radius=2)
    c.ellipse((286, 260, 300, 274), "#7fd1ae")


def book(cover, spine, emblem):
    """A standing book: cover, spine edge, pages, title bars and an emblem."""
    def draw(c):
        c.shadow(210, 312, 210)
        c.rect((132, 76, 290, 312), "#f4f1ea", radius=4)
        c.rect((118, 70, 280, 308), cover, radius=6)
        c.rect((118, 70, 136, 308), spine, radius=4)
        c.rect((156, 104, 258, 114), "#ffffffcc", radius=3)
        c.rect((156, 122, 236, 130), "#ffffff88", radius=3)
        emblem(c, 207, 222)
    return draw


def globe(c, x, y):
    c.ellipse((x - 42, y - 42, x + 42, y + 42), "#e9d8b4")
    c.ellipse((x - 42, y - 42, x + 42, y + 42), outline="#7a5a2e", width=4)
    c.ellipse((x - 18, y - 42, x + 18, y + 42), outline="#7a5a2e", width=3)
    c.line([(x - 42, y), (x + 42, y)], "#7a5a2e", 3)
    c.line([(x, y - 42), (x, y + 42)], "#7a5a2e", 3)


def drop(c, x, y):
    c.polygon([(x, y - 52), (x + 30, y - 4), (x - 30, y - 4)], "#8fd0ef")
    c.ellipse((x - 34, y - 28, x + 34, y + 40), "#8fd0ef")
    c.ellipse((x - 18, y - 2, x - 6, y + 18), "#ffffffaa")


def cup(c, x, y):
    c.arc((x + 22, y - 18, x + 56, y + 16), -90, 90, "#f3ead9", 8)
    c.rect((x - 38, y - 30, x + 38, y + 30), "#f3ead9", radius=10)
    c.rect((x - 58, y + 30, x + 58, y + 40), "#f3ead9", radius=5)
    for dx in (-14, 6):
        c.line([(x + dx, y - 62), (x + dx + 8, y - 50), (x + dx, y - 40)], "#f3ead999", 4)


def camping_press(c):
    """An insulated press: steel tube, olive sleeve, plunger."""
    c.dy = 14
    c.shadow(200, 316, 150)
    c.rect((196, 58, 204, 110), "#6d747c")
    c.ellipse((186, 46, 214, 66), "#2f3a2c")
    c.rect((150, 96, 250, 316), "#56663f", radius=18)
    c.rect((150, 96, 250, 126), "#aab1b8", radius=12)
    c.rect((150, 286, 250, 316), "#aab1b8", radius=12)
    c.rect((164, 132, 176, 280), "#6b7c52")


def camp_mug(c):
    """A titanium mug with folding wire handles."""
    c.shadow(200, 292, 220)
    c.arc((264, 168, 318, 250), -90, 90, "#7d848c", 6)
    c.arc((82, 168, 136, 250), 90, 270, "#7d848c", 6)
    c.rect((130, 150, 270, 292), "#a9b0b7", radius=8)
    for x, shade in ((146, "#c3c9cf"), (164, "#b6bcc3"), (236, "#9aa1a8")):
        c.rect((x, 150, x + 12, 292), shade)
    c.rect((126, 146, 274, 158), "#bfc5cb", radius=5)


def espresso_maker(c):
    """A hand-pumped espresso maker with its cup, standing."""
    c.dy = 14
    c.shadow(200, 314, 160)
    c.rect((166, 48, 234, 80), "#2c2f33", radius=10)
    c.rect((178, 78, 222, 110), "#c9772f", radius=6)
    c.rect((156, 108, 244, 262), "#2c2f33", radius=22)
    c.rect((170, 120, 182, 250), "#42464c", radius=4)
    c.rect((164, 262, 236, 314), "#e9e5de", radius=10)
    c.rect((164, 262, 236, 272), "#6b4226", radius=4)


# Each product's picture, by its name in DemoCatalog.swift; the file name is the key under products/<id>/.
PICTURES = [
    ("Guatemala Huehuetenango, 250 g", "guatemala-huehuetenango", "coffee",
     coffee_bag("#4f6b4a", "#f6efe2", "#6b4226")),
    ("Stoneware Mug, 350 ml", "stoneware-mug", "kitchen", mugs),
    ("Paper Filters No. 2", "paper-filters", "kitchen", filters),
    ("Ethiopia Yirgacheffe, 250 g", "ethiopia-yirgacheffe", "coffee",
     coffee_bag("#c9a46a", "#fbf6ec", "#b5542e")),
    ("Colombia Huila Decaf, 250 g", "colombia-huila-decaf", "coffee",
     coffee_bag("#2f5d62", "#f6efe2", "#6b4226", band="#e3b23c")),
    ("House Espresso Blend, 1 kg", "house-espresso-blend", "coffee",
     coffee_bag("#2b2b2e", "#efe6d4", "#7a3e1d", big=True)),
    ("Kenya Nyeri AA, 250 g", "kenya-nyeri", "coffee",
     coffee_bag("#7b2d3b", "#fbf3ea", "#7b2d3b")),
    ("Hand Grinder with Steel Burrs", "hand-grinder", "kitchen", grinder),
    ("Gooseneck Pour-Over Kettle, 1 L", "gooseneck-kettle", "kitchen", kettle),
    ("Ceramic Dripper No. 2", "ceramic-dripper", "kitchen", dripper),
    ("Double-Walled Glass Mugs, Set of 2", "glass-mugs", "kitchen", glass_mugs),
    ("Digital Coffee Scale with Timer", "coffee-scale", "kitchen", scale),
    ("The World Atlas of Coffee", "world-atlas-of-coffee", "books", book("#2f4f6f", "#243d56", globe)),
    ("Water for Coffee", "water-for-coffee", "books", book("#1f6f8b", "#185a71", drop)),
    ("The Professional Barista's Handbook", "barista-handbook", "books", book("#6b3a2a", "#552e21", cup)),
    ("Insulated Camping Press, 500 ml", "camping-press", "outdoor", camping_press),
    ("Titanium Camp Mug, 450 ml", "titanium-camp-mug", "outdoor", camp_mug),
    ("Portable Espresso Maker", "portable-espresso-maker", "outdoor", espresso_maker),
]


def render(category, draw):
    canvas = Canvas(category)
    draw(canvas)
    return canvas.webp()


def swift_source(pictures):
    lines = [
        "// Generated by scripts/demo-images.py: do not edit by hand; run it again after changing a picture.",
        "",
        "/// The demo catalog's pictures: 400x400 WebP files, base64-encoded, by product name.",
        "enum DemoPictures {",
        "    static let byName: [String: (file: String, base64: String)] = [",
    ]
    for name, file, data in pictures:
        encoded = base64.b64encode(data).decode()
        lines.append("        %s: (" % swift_string(name))
        lines.append("            file: %s," % swift_string(file + ".webp"))
        lines.append("            base64: \"\"\"")
        for i in range(0, len(encoded), 100):
            lines.append("            " + encoded[i:i + 100])
        lines.append("            \"\"\"")
        lines.append("        ),")
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def swift_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="also write the .webp files to this directory")
    parser.add_argument("--swift", default=str(SWIFT), help="the Swift file to write (default %(default)s)")
    args = parser.parse_args()
    pictures = []
    for name, file, category, draw in PICTURES:
        data = render(category, draw)
        pictures.append((name, file, data))
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            (Path(args.out) / (file + ".webp")).write_bytes(data)
    Path(args.swift).write_text(swift_source(pictures))
    sizes = [len(d) for _, _, d in pictures]
    print("%d pictures, %d to %d bytes, %d bytes in all -> %s" % (len(sizes), min(sizes), max(sizes), sum(sizes), args.swift))


if __name__ == "__main__":
    sys.exit(main())
