"""How fakes are made. Each generator registers a `kind` with `toolkit.config.registry.GENERATORS`."""
