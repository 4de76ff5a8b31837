"""Organisations that staff belong to: institutions, providers, centres, agencies, teams."""
