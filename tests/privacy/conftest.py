"""The kinds' fixtures the anonymization tests build their school from."""

from __future__ import annotations

from tests.cadre.conftest import cadre, cadre_window
from tests.collective.conftest import kit
from tests.personal.conftest import mirror, personal_window

__all__ = ["cadre", "cadre_window", "kit", "mirror", "personal_window"]
