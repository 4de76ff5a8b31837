"""The demo city's devices: ``demo-dev-1`` … ``demo-dev-50`` with secrets ``demo-secret-1`` …, bound to demo elders.

Fixed ids and secrets (CONTRACT.md) so scripts and checks can sign messages for
them. Elders are picked evenly across the list, so every county has devices; GPS
watches get a 500 m safe zone around the elder's home, the first of them with a
return time of 20:00; smart mattresses raise ``no_movement`` after 12 hours. No
random numbers are drawn, so the rest of the demo city stays the same with or
without devices.
"""

from __future__ import annotations

import datetime as dt

from yiyang.people.models import Elder

from .catalogue import DeviceKind
from .models import Device, Geofence, Placement

COUNT = 50
KINDS = [DeviceKind.SOS_BUTTON, DeviceKind.FALL_DETECTOR, DeviceKind.SMART_MATTRESS, DeviceKind.GPS_WATCH,
         DeviceKind.SMOKE_DETECTOR, DeviceKind.GAS_DETECTOR, DeviceKind.DOOR_SENSOR]
HEARTBEAT_SECONDS = 300
MATTRESS_INACTIVITY_HOURS = 12
RETURN_BY = dt.time(20, 0)  # for the first GPS watch's zone


def build_devices(elder_ids: list[int], count: int = COUNT) -> list[Device]:
    if not elder_ids:
        return []
    ids = sorted(elder_ids)
    chosen = [ids[(i * len(ids)) // count] for i in range(count)]
    elders = Elder.objects.in_bulk(set(chosen))
    devices, zones = [], []
    for n, elder_id in enumerate(chosen, start=1):
        elder = elders[elder_id]
        kind = KINDS[(n - 1) % len(KINDS)]
        devices.append(Device(device_id=f"demo-dev-{n}", kind=kind, secret=f"demo-secret-{n}", elder=elder,
                              area_id=elder.area_id, placement=Placement.HOME, location_note=elder.address[:200],
                              heartbeat_seconds=HEARTBEAT_SECONDS,
                              inactivity_hours=MATTRESS_INACTIVITY_HOURS if kind == DeviceKind.SMART_MATTRESS else None))
        if kind == DeviceKind.GPS_WATCH and elder.latitude is not None and elder.longitude is not None:
            zones.append(Geofence(elder=elder, name="家附近 500 米", latitude=elder.latitude,
                                  longitude=elder.longitude, radius_m=500, return_by=None if zones else RETURN_BY))
    Device.objects.bulk_create(devices)
    Geofence.objects.bulk_create(zones)
    return devices
