"""A cadre report returned "back to my step": kept while who served where stays, restarted when
the service changed (docs/decisions.md, "Returns")."""

from __future__ import annotations

from io import BytesIO

from bulu.workflow.models import Decision
from bulu.workflow.resume import OWN_STEP, RESTART
from bulu.workflow.services import request_decide
from cadre import services
from cadre.models import CadreRequest
from tests.cadre.conftest import TERM, Cadre
from tests.conftest import School, decide
from tests.files import png_bytes


def _returned_by_branch(school: School, cadre: Cadre) -> CadreRequest:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    services.cadre_request_submit(request=report, actor=school.alice)
    decide(report, school.frank)
    report.refresh_from_db()
    assert report.current_step is not None and report.current_step.role == "secretary"
    request_decide(
        request=report,
        actor=school.carol,
        decision=Decision.RETURN,
        opinion="请附聘书",
        expected_version=report.version,
        resume=OWN_STEP,
    )
    report.refresh_from_db()
    return report


def test_a_file_added_comes_back_to_the_branch(school: School, cadre: Cadre) -> None:
    report = _returned_by_branch(school, cadre)
    services.cadre_self_report_save(
        student=school.alice,
        request=report,
        data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM),
        uploads=[("聘书.png", BytesIO(png_bytes()))],
    )
    services.cadre_request_submit(request=report, actor=school.alice)
    report.refresh_from_db()
    assert report.current_step is not None and report.current_step.role == "secretary"
    assert len(report.log.get(decision=Decision.RESUBMIT).context["kept"]) == 1


def test_another_position_restarts_at_the_advisor(school: School, cadre: Cadre) -> None:
    report = _returned_by_branch(school, cadre)
    services.cadre_self_report_save(
        student=school.alice,
        request=report,
        data=services.ServiceData(school.club.pk, cadre.club_member.pk, *TERM),
    )
    services.cadre_request_submit(request=report, actor=school.alice)
    report.refresh_from_db()
    assert report.current_step is not None and report.current_step.role == "advisor"
    record = report.log.get(decision=Decision.RESUBMIT)
    assert record.context["resume"] == RESTART and "任职名单" in record.context["restart_reason"]
