"""Simulators of the five department systems and the provincial platform, for demos and tests."""
