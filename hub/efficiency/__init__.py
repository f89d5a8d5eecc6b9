"""Efficiency supervision (效能监管): working-day calendar and daily indicators from case steps."""
