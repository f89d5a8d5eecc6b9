"""公安局 population registry simulator: ``T_RK_JBXX`` in its own database."""
