"""`python manage.py render_pdf REQUEST_ID --out DIR`: write a request's PDFs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulu.workflow.models import BackfillRequest
from documents.selectors import request_forms
from documents.services import documents_render


class Command(BaseCommand):
    help = "Render a submitted request's PDFs (its kind's forms) into a directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", type=int)
        parser.add_argument("--out", required=True, help="directory to write the PDFs into")

    def handle(self, *args: Any, **options: Any) -> None:
        request = BackfillRequest.objects.filter(pk=options["request_id"]).first()
        if request is None:
            raise CommandError(f"request {options['request_id']} does not exist")
        if request.submitted_at is None:
            raise CommandError(f"request {request.pk} is a draft: it has no forms yet")
        if not request_forms(request=request):
            raise CommandError(f"kind {request.kind!r} has no printable forms")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        for doc in documents_render(request_id=request.pk):
            target = out / f"{request.pk}-{re.sub(r'[^a-z0-9_-]', '', doc.form_key)}.pdf"
            with doc.file.open("rb") as handle:
                target.write_bytes(handle.read())
            self.stdout.write(
                f"{target}  {doc.pages} page(s), {doc.size / 1024:.0f} KB, code {doc.code}"
            )
