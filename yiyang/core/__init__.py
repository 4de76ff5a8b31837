"""Cross-cutting pieces every domain app uses: jurisdiction scoping, audit, personal data."""
