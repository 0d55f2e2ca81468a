"""Draw the PWA icons (the same mark as static/img/icon.svg) as PNG with Pillow."""

from PIL import Image, ImageDraw

GREEN, WHITE, YELLOW = (11, 61, 46), (255, 255, 255), (242, 194, 0)


def draw(size: int, maskable: bool) -> Image.Image:
    img = Image.new("RGB" if maskable else "RGBA", (size, size), GREEN if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 64
    if maskable:  # full bleed; the mark inside the 80% safe zone
        s *= 0.7
        off = size * 0.15
    else:
        d.rounded_rectangle([0, 0, size - 1, size - 1], radius=12 * s, fill=GREEN)
        off = 0
    w = round(5 * s)
    d.rectangle([off + 18 * s, off + 20 * s, off + 46 * s, off + 48 * s], outline=WHITE, width=w)
    d.line(
        [(off + 24 * s, off + 34 * s), (off + 30 * s, off + 40 * s), (off + 42 * s, off + 26 * s)],
        fill=YELLOW,
        width=w,
        joint="curve",
    )
    return img


for size in (192, 512):
    draw(size, False).save(f"static/img/icon-{size}.png", optimize=True)
draw(512, True).save("static/img/icon-maskable-512.png", optimize=True)
