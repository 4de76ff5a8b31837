"""Ability assessment: GB/T 42195-2022 (current) and MZ/T 039-2013 (historic records)."""
