"""How personal data is shown to people who may not reveal it."""


def mask_id_number(value: str) -> str:
    """Keep the length; show the first 4 and the last character (5107*************X)."""
    if not value:
        return ""
    if len(value) <= 5:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 5) + value[-1]


def mask_phone(value: str) -> str:
    """Show the first 3 and last 4 digits of a mobile number (138****1234)."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
