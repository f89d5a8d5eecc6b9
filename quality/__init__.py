"""Data quality: vectorised row rules, batch expectations, quarantine and reports."""
