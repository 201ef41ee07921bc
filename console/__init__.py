"""The command-line client: `python cli.py ...` (click commands over the /api/v1 HTTP API)."""
