"""市场监管局 market entity registry simulator: ``T_SCZT_DJXX`` in its own database."""
