"""Demo signatures and seals, drawn with Pillow and marked 示例 (never a real seal)."""

from __future__ import annotations

import math
import shutil
import subprocess
from io import BytesIO

from accounts.models import Organization, User
from documents.models import SealImage, SignatureImage
from documents.services import seal_upload, signature_upload

SIGNERS = ("T0201", "T0301", "T0401")  # 指导老师, 二课中心, 校团委; the others sign in the font
RED = (200, 16, 30, 235)


def _font_path(family: str) -> str | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    out = subprocess.run(  # noqa: S603  (a fixed argument list, no shell)
        [fc_match, "-f", "%{file}", family], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return out or None


def signature_png(name: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    path = _font_path("AR PL UKai CN")
    font = ImageFont.truetype(path, 96) if path else ImageFont.load_default()
    image = Image.new("RGBA", (120 * max(len(name), 2) + 40, 150), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((20, 15), name, font=font, fill=(20, 30, 90, 255))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seal_png(name: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    size, radius = 400, 190
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, size - 10, size - 10), outline=RED, width=12)
    path = _font_path("AR PL UMing CN")
    font = ImageFont.truetype(path, 44) if path else ImageFont.load_default()
    small = ImageFont.truetype(path, 40) if path else ImageFont.load_default()
    centre = size / 2
    star = [
        (
            centre + (60 if i % 2 == 0 else 24) * math.sin(i * math.pi / 5),
            centre - (60 if i % 2 == 0 else 24) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=RED)
    chars = list(name)
    span = min(250.0, 26.0 * len(chars))
    for i, char in enumerate(chars):
        angle = -span / 2 + span * (i + 0.5) / len(chars)
        glyph = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((8, 4), char, font=font, fill=RED)
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        r = radius - 50
        x = centre + r * math.sin(math.radians(angle)) - 30
        y = centre - r * math.cos(math.radians(angle)) - 30
        image.alpha_composite(glyph, (int(x), int(y)))
    draw.text((centre - 40, centre + 80), "示例", font=small, fill=RED)
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def demo_seed_images() -> int:
    """Seals for every 团总支, the center and the committee; signatures for three approvers."""
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        return 0
    created = 0
    units = Organization.objects.filter(
        kind__in=(Organization.Kind.BRANCH, Organization.Kind.CENTER, Organization.Kind.COMMITTEE)
    )
    for unit in units:
        if not SealImage.objects.filter(organization=unit).exists():
            seal_upload(organization=unit, actor=admin, data=seal_png(unit.name))
            created += 1
    for user in User.objects.filter(username__in=SIGNERS):
        if not SignatureImage.objects.filter(user=user).exists():
            signature_upload(user=user, data=signature_png(user.name or user.username))
            created += 1
    return created
