"""Fixtures for printable forms: requests in known states, and reading PDFs back as text."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import caches

from accounts.models import User
from collective import services as collective_services
from collective.models import CollectiveRequest
from documents.models import RequestDocument
from documents.selectors import request_forms
from documents.services import document_current, form_get
from personal import services as personal_services
from personal.models import PersonalRequest
from tests.collective.conftest import Kit, kit, ready_request  # noqa: F401
from tests.conftest import School, decide
from tests.personal.conftest import draft, mirror, personal_window  # noqa: F401


def png_rgba(
    width: int = 64, height: int = 32, colour: tuple[int, ...] = (0, 0, 120, 255)
) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if width > 10 and height > 10:
        ImageDraw.Draw(image).rectangle((4, 4, width - 5, height - 5), outline=colour, width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """The PDF's text as poppler reads it (pdftotext, installed by scripts/sysdeps.sh test)."""
    result = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")


def squash(text: str) -> str:
    """Text without whitespace: the layout may break a long value across lines or columns."""
    return "".join(text.split())


def render(request: object, key: str) -> RequestDocument:
    form = form_get(request=request, key=key)  # type: ignore[arg-type]
    return document_current(request=request, form=form, guarded=False)  # type: ignore[arg-type]


def pdf_bytes(doc: RequestDocument) -> bytes:
    with doc.file.open("rb") as handle:
        return handle.read()


@pytest.fixture(autouse=True)
def _fresh_rate_limit(settings: object) -> None:
    # Counted per test in a local cache (never the shared Redis one).
    settings.RATELIMIT_USE_CACHE = "default"  # type: ignore[attr-defined]
    caches["default"].clear()


@dataclass
class Club:
    request: CollectiveRequest


def club_request(school: School, kit: Kit, **changes: object) -> CollectiveRequest:  # noqa: F811
    """机器人协会's request (gina files; route frank → carol → dave → erin)."""
    request = ready_request(school.gina, school.club, kit)
    if changes:
        data = collective_services.CollectiveData(
            **{
                f: getattr(request, f)
                for f in collective_services.CollectiveData.__dataclass_fields__
                if f not in collective_services.CHILDREN  # related managers: left as stored
            }
        )
        for key, value in changes.items():
            setattr(data, key, value)
        collective_services.collective_request_update(request=request, actor=school.gina, data=data)
    collective_services.collective_request_submit(request=request, actor=school.gina)
    request.refresh_from_db()
    return request


def approve_all(request: object, *actors: User) -> None:
    for actor in actors:
        decide(request, actor, opinion=f"同意（{actor.name}）")


def personal_submitted(school: School, draft: PersonalRequest) -> PersonalRequest:  # noqa: F811
    personal_services.personal_request_submit(request=draft, actor=school.alice)
    draft.refresh_from_db()
    return draft


def write_png(data: bytes, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    pdf = out / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(out / name)], check=True)
    return sorted(out.glob(f"{name}*.png"))


__all__ = ["request_forms"]
