"""``{% elder_assessment_card elder %}``: the elder's current ability result on their page."""

from django import template

from yiyang.assessments import services
from yiyang.assessments.models import Assessment
from yiyang.assessments.rules import OPEN_STATUSES

register = template.Library()


@register.inclusion_tag("assessments/_elder_card_body.html", takes_context=True)
def elder_assessment_card(context, elder):
    """The result valid today (only if the user may open that assessment), the open assessment, a request link.

    ``elder`` was read through ``for_user`` by the page that includes the card.
    """
    user = context["request"].user
    if not user.has_perm("assessments.view_assessment"):
        return {"show": False}
    visible = Assessment.objects.for_user(user).filter(elder_id=elder.pk)
    result = services.current_result(elder)
    if result is not None and not visible.filter(pk=result.assessment_id).exists():
        result = None
    open_assessment = visible.filter(status__in=OPEN_STATUSES).first()
    return {
        "show": True, "elder": elder, "result": result, "open_assessment": open_assessment,
        "can_request": user.has_perm(services.PERM_REQUEST) and open_assessment is None
        and elder.status == "alive",
        "count": visible.count(),
    }
