"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import Organization, User


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"2024{n:06d}")
    name = factory.Faker("name", locale="zh_CN")
    password = factory.django.Password("pass-1234")


class OrganizationFactory(DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    kind = Organization.Kind.CLUB
    name = factory.Sequence(lambda n: f"组织{n}")
