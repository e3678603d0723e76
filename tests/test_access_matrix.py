"""Every persona against every page: 200 where the role belongs, 404 for unseen objects, 403 for
actions not allowed. The request under test is alice's, pending at her counselor (bob)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bulu.workflow.models import Window
from personal import services
from personal.models import Evidence, PersonalRequest
from tests.conftest import School
from tests.personal.conftest import draft, mirror, personal_window  # noqa: F401

PERSONAS = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "oscar", "olivia")

# page -> expected status per persona (alice bob carol dave erin frank gina oscar olivia)
EXPECTED: dict[str, tuple[int, ...]] = {
    "workflow:detail": (200, 200, 200, 200, 200, 404, 404, 404, 404),
    # Her own pending request is no longer editable: alice is sent to its page.
    "personal:edit": (302, 403, 403, 403, 403, 404, 404, 404, 404),
    "personal:evidence_file": (200, 200, 200, 200, 200, 404, 404, 404, 404),
    "workflow:mine": (200, 200, 200, 200, 200, 200, 200, 200, 200),
    "workflow:owners_missing": (403, 403, 403, 200, 403, 403, 403, 403, 403),
    "workflow:overview": (403, 403, 403, 200, 200, 403, 403, 403, 403),
    "workflow:window_create": (403, 403, 403, 200, 403, 403, 403, 403, 403),
    "accounts:registry_import": (403, 403, 403, 200, 403, 403, 403, 403, 403),
    "accounts:initial_passwords": (403, 200, 200, 200, 403, 403, 403, 200, 403),
    "imports:roster_upload": (403, 200, 200, 200, 200, 200, 200, 200, 403),
    # Only students (with a class) file personal requests; gina here is only a club applicant.
    "personal:create": (200, 403, 403, 403, 403, 403, 403, 403, 200),
}


@pytest.fixture
def pending(school: School, draft: PersonalRequest) -> PersonalRequest:  # noqa: F811
    services.personal_request_submit(request=draft, actor=school.alice)
    return draft


def _url(name: str, request: PersonalRequest) -> str:
    if name in ("personal:edit", "workflow:detail"):
        return reverse(name, args=[request.pk])
    if name == "personal:evidence_file":
        return reverse(name, args=[Evidence.objects.get(item__request=request).pk])
    return reverse(name)


@pytest.mark.parametrize("page", list(EXPECTED))
def test_it_answers_each_persona_as_its_role_allows(
    client: Client,
    school: School,
    pending: PersonalRequest,
    personal_window: Window,  # noqa: F811
    page: str,
) -> None:
    url = _url(page, pending)
    got = []
    for name in PERSONAS:
        client.force_login(getattr(school, name))
        got.append(client.get(url).status_code)
    assert dict(zip(PERSONAS, got, strict=True)) == dict(zip(PERSONAS, EXPECTED[page], strict=True))
