from __future__ import annotations

from tests.personal.conftest import draft, mirror, personal_window  # noqa: F401  (shared fixtures)
