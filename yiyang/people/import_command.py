"""``yiyang import elders FILE``: import a roster from the command line, all rows or none.

Acts as ``--user`` (a username). Without it, as the city official when the
database has officials of one city only (the first by username), otherwise as
the only superuser; when neither is clear-cut, ``--user`` is required. Exit 0
when the file is imported (or, with --dry-run, would be), including a re-import
that changes nothing; exit 1 when any row is rejected, with an error workbook
written next to the file (or to --report).
"""

from __future__ import annotations

import sys
from pathlib import Path

NEEDS_DJANGO = True
SHOWN_ERRORS = 20


def add_arguments(parser) -> None:
    parser.add_argument("kind", choices=["elders"], help="what the file holds (elders: the registry roster)")
    parser.add_argument("file", type=Path, help="the roster, .xlsx or .csv (UTF-8 or GBK)")
    parser.add_argument("--area", default=None, help="area code every row's village must lie under (within the user's jurisdiction)")
    parser.add_argument("--dry-run", action="store_true", help="check every row and report, write nothing")
    parser.add_argument("--user", default=None, help="username to act as (default: the city official, else the superuser)")
    parser.add_argument("--report", type=Path, default=None, help="where to write the error workbook (default FILE.errors.xlsx)")


def run(args) -> int:
    from django.utils.translation import gettext as _

    from .importing import error_report_xlsx, import_roster

    if not args.file.is_file():
        print(_("No such file: %(path)s") % {"path": args.file}, file=sys.stderr)
        return 1
    user = _acting_user(args.user)
    if user is None:
        return 1
    report = import_roster(args.file, acting_user=user, area=args.area, dry_run=args.dry_run)
    if report.ok:
        _print_counts(report)
        return 0
    path = args.report or args.file.with_name(args.file.stem + ".errors.xlsx")
    path.write_bytes(error_report_xlsx(report))
    print(_("Rejected: %(errors)d errors in %(rows)d of %(total)d rows; nothing was written.")
          % {"errors": len(report.errors), "rows": report.rejected_rows, "total": report.rows}, file=sys.stderr)
    for error in report.errors[:SHOWN_ERRORS]:
        where = _("row %(row)d") % {"row": error.row} if error.row else _("file")
        column = f" {error.column}" if error.column else ""
        value = f" “{error.value}”" if error.value else ""
        print(f"  {where}{column}{value}: {error.message}", file=sys.stderr)
    if len(report.errors) > SHOWN_ERRORS:
        print("  ...", file=sys.stderr)
    print(_("Error report: %(path)s") % {"path": path}, file=sys.stderr)
    return 1


def _print_counts(report) -> None:
    from django.utils.translation import gettext as _

    where = f" ({report.sheet})" if report.sheet else ""
    lead = _("Dry run, nothing written: %(file)s%(where)s") if report.dry_run else _("Imported %(file)s%(where)s")
    print(lead % {"file": report.filename, "where": where})
    print(_("  %(rows)d rows: %(created)d new, %(updated)d updated, %(unchanged)d unchanged; %(empty)d empty rows skipped")
          % {"rows": report.rows, "created": report.created, "updated": report.updated,
             "unchanged": report.unchanged, "empty": report.skipped_empty})
    if report.ignored_columns:
        print(_("  Columns not imported: %(columns)s") % {"columns": "、".join(report.ignored_columns)})


def _acting_user(username: str | None):
    """The account the import acts as (see the module docstring), or None after saying why."""
    from django.utils.translation import gettext as _

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    active = User.objects.filter(is_active=True)
    if username:
        user = active.filter(username=username).first()
        if user is None:
            print(_("No active user “%(name)s”.") % {"name": username}, file=sys.stderr)
        return user
    officials = list(active.filter(role=Role.CITY_OFFICIAL).order_by("username"))
    if officials and len({u.scope_area_id for u in officials}) == 1:
        return officials[0]
    superusers = list(active.filter(is_superuser=True)[:2])
    if len(superusers) == 1 and not officials:
        return superusers[0]
    print(_("Choose the account to act as with --user USERNAME."), file=sys.stderr)
    return None
