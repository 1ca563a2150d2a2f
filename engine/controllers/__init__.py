"""Controllers: each watches the store, enqueues keys and reconciles through the API server."""
