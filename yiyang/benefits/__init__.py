"""Subsidy programmes (高龄津贴, 护理补贴, 服务补贴), payroll runs and payment lines."""
