"""Where reals come from. Each source registers a `kind` with `toolkit.config.registry.SOURCES`."""
