"""Test helpers: drive an order to a completed visit on a given day, and a voucher account."""

from __future__ import annotations

import datetime as dt

from yiyang.homecare import services

from .conftest import HOME, at


def visit(city, care, *, day: dt.date, service: str = "meal", worker=None, minutes: int = 40, far: bool = False,
          payer: str = "self", voucher_programme: str = "", bed=None, provider=None, elder=None):
    """An order for ``day`` 09:00–11:00, accepted, assigned, checked in at 09:05 and out ``minutes`` later."""
    dispatcher = city.user("dispatcher")
    worker = worker or care.nurse
    elder = elder or care.elder
    order = services.create_order(acting_user=city.user("agent"), elder_id=elder.pk, service_code=service,
                                  provider_id=(provider or care.provider).pk, window_start=at(9, day=day),
                                  window_end=at(11, day=day), payer=payer, voucher_programme=voucher_programme, bed=bed)
    order = services.accept(order, acting_user=dispatcher if provider is None else _dispatcher_of(worker))
    order = services.assign(order, worker, acting_user=dispatcher if provider is None else _dispatcher_of(worker))
    latitude = HOME[0] + (0.02 if far else 0)
    start = at(9, 5, day=day)
    order = services.check_in(order, acting_user=worker.user, latitude=latitude, longitude=HOME[1], at=start)
    return services.check_out(order, acting_user=worker.user, latitude=latitude, longitude=HOME[1],
                              at=start + dt.timedelta(minutes=minutes))


def _dispatcher_of(worker):
    from yiyang.accounts.models import User

    return User.objects.filter(organization=worker.provider, role="provider_dispatcher").first()


def voucher_account(elder, balance_fen: int, code: str = "fuwu"):
    from yiyang.benefits.models import VoucherAccount
    from yiyang.benefits.tests.test_care_subsidies import _grade_programme

    programme = _grade_programme(code, mode="voucher", hardship=())
    return VoucherAccount.objects.create(programme=programme, elder=elder, balance_fen=balance_fen)
