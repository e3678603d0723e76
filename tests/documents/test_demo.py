"""The demo's seals and signatures pass the same upload checks as real ones, once."""

from __future__ import annotations

import pytest

from documents.demo import demo_seed_images, seal_png, signature_png
from documents.images import png_check
from documents.models import SealImage
from tests.conftest import School
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_images_are_valid_pngs_with_transparency() -> None:
    for data in (seal_png("智能制造学院团总支"), signature_png("任欣琪")):
        checked = png_check(data, what="示例")
        assert checked.width >= 32 and checked.data.startswith(b"\x89PNG")


def test_the_demo_step_seals_each_unit_once(school: School) -> None:
    assert demo_seed_images() == 0  # no administrator yet: nobody to upload them
    UserFactory.create(username="admin", name="管理员", is_staff=True, is_superuser=True)
    assert demo_seed_images() == 4  # two 团总支, the center and the committee
    assert set(SealImage.objects.values_list("organization__name", flat=True)) == {
        "智能制造学院团总支",
        "汽车工程学院团总支",
        "第二课堂指导与服务中心",
        "校团委",
    }
    assert demo_seed_images() == 0
