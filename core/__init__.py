"""Pieces shared by the API, the workers and the CLI: settings, stores, clients."""
