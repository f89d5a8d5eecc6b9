"""ShareHub core: store, pipeline, registry, certificates, access, API and CLI."""
