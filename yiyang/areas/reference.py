"""Loading the shipped reference divisions (used by a data migration and by the demo)."""

from . import divisions


def load_reference_divisions(Area) -> None:
    """Create or refresh the province, seed cities and counties; ``Area`` may be a historical model."""
    code, name, lat, lon = divisions.PROVINCE
    Area.objects.update_or_create(code=code, defaults=dict(name=name, level=1, latitude=lat, longitude=lon))
    for code, name, lat, lon in divisions.CITIES:
        Area.objects.update_or_create(code=code, defaults=dict(name=name, level=2, parent_id=code[:2], latitude=lat, longitude=lon))
    for code, name, lat, lon, _dh, _dw, _urban in divisions.COUNTIES:
        Area.objects.update_or_create(code=code, defaults=dict(name=name, level=3, parent_id=code[:4], latitude=lat, longitude=lon))
