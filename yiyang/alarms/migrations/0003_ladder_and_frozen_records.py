"""The default escalation ladder, outcomes under their new names, and closed alarms frozen by triggers.

Triggers on both databases: a closed alarm cannot be updated, no step is added to
a closed alarm, and steps are never changed. PostgreSQL also refuses deleting a
closed alarm or any step (TRUNCATE, used by ``yiyang demo --reset`` and test
flushes, fires no row trigger); SQLite's test flush deletes rows one by one, so
there deletion is refused by the model layer only.

SQLite drops a table's triggers when a migration rebuilds the table (most field
changes do): a later migration that alters ``alarms_alarm`` or ``alarms_alarmevent``
must run ``freeze`` again afterwards (the closing test in test_escalation.py fails otherwise).
"""

from django.db import migrations

# (alarm types, [(seconds after the alarm, action, condition, channel, emergency number)])
PERSON_IN_DANGER = ["sos", "fall", "call", "vitals_out_of_range"]
LADDER = [
    (PERSON_IN_DANGER, [
        (0, "advise_emergency_call", "always", "", "120"),
        (60, "alert_supervisor", "unacknowledged", "push", ""),
        (120, "notify_contacts", "always", "voice", ""),
        (300, "dispatch_worker", "always", "", ""),
    ]),
    (["smoke", "gas"], [
        (0, "advise_emergency_call", "always", "", "119"),
        (30, "notify_contacts", "always", "voice", ""),
        (60, "alert_supervisor", "unacknowledged", "push", ""),
        (120, "dispatch_worker", "always", "", ""),
    ]),
    (["no_movement"], [
        (120, "notify_contacts", "unacknowledged", "voice", ""),
        (300, "alert_supervisor", "unacknowledged", "push", ""),
        (900, "dispatch_worker", "always", "", ""),
    ]),
    (["out_of_bed"], [
        (120, "notify_contacts", "unacknowledged", "sms", ""),
        (300, "alert_supervisor", "unacknowledged", "push", ""),
    ]),
    (["geofence_exit", "late_return"], [
        (0, "notify_contacts", "always", "sms", ""),
        (300, "alert_supervisor", "unacknowledged", "push", ""),
    ]),
    (["device_offline"], [
        (0, "notify_organization", "always", "sms", ""),
        (86400, "alert_supervisor", "unacknowledged", "push", ""),
    ]),
]

OLD_OUTCOMES = {"emergency": "resolved_at_home", "other": "resolved_at_home"}

PG_FORWARD = """
CREATE OR REPLACE FUNCTION yiyang_alarm_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'closed' THEN
        RAISE EXCEPTION 'alarm %% is closed: its record cannot change', OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER alarms_alarm_frozen BEFORE UPDATE OR DELETE ON alarms_alarm
    FOR EACH ROW EXECUTE FUNCTION yiyang_alarm_frozen();

CREATE OR REPLACE FUNCTION yiyang_alarm_event_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'alarm steps are append-only';
    END IF;
    IF (SELECT status FROM alarms_alarm WHERE id = NEW.alarm_id) = 'closed' THEN
        RAISE EXCEPTION 'alarm %% is closed: no step can be added', NEW.alarm_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER alarms_alarmevent_guard BEFORE INSERT OR UPDATE OR DELETE ON alarms_alarmevent
    FOR EACH ROW EXECUTE FUNCTION yiyang_alarm_event_guard();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS alarms_alarmevent_guard ON alarms_alarmevent;
DROP FUNCTION IF EXISTS yiyang_alarm_event_guard();
DROP TRIGGER IF EXISTS alarms_alarm_frozen ON alarms_alarm;
DROP FUNCTION IF EXISTS yiyang_alarm_frozen();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER alarms_alarm_frozen BEFORE UPDATE ON alarms_alarm FOR EACH ROW WHEN OLD.status = 'closed'
       BEGIN SELECT RAISE(ABORT, 'alarm is closed: its record cannot change'); END""",
    """CREATE TRIGGER alarms_alarmevent_closed BEFORE INSERT ON alarms_alarmevent FOR EACH ROW
       WHEN (SELECT status FROM alarms_alarm WHERE id = NEW.alarm_id) = 'closed'
       BEGIN SELECT RAISE(ABORT, 'alarm is closed: no step can be added'); END""",
    """CREATE TRIGGER alarms_alarmevent_append_only BEFORE UPDATE ON alarms_alarmevent FOR EACH ROW
       BEGIN SELECT RAISE(ABORT, 'alarm steps are append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS alarms_alarmevent_append_only",
    "DROP TRIGGER IF EXISTS alarms_alarmevent_closed",
    "DROP TRIGGER IF EXISTS alarms_alarm_frozen",
]


def seed_and_rename(apps, schema_editor):
    Alarm = apps.get_model("alarms", "Alarm")
    Step = apps.get_model("alarms", "EscalationStep")
    for old, new in OLD_OUTCOMES.items():
        Alarm.objects.filter(outcome=old).update(outcome=new)
    Alarm.objects.filter(msg_id__startswith="@").update(source="platform")
    for types, steps in LADDER:
        for alarm_type in types:
            for position, (after, action, condition, channel, number) in enumerate(steps, start=1):
                Step.objects.get_or_create(alarm_type=alarm_type, position=position, defaults={
                    "after_seconds": after, "action": action, "condition": condition, "channel": channel,
                    "emergency_number": number})


def freeze(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def unfreeze(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("alarms", "0002_escalation")]
    operations = [
        migrations.RunPython(seed_and_rename, migrations.RunPython.noop),
        migrations.RunPython(freeze, unfreeze),
    ]
