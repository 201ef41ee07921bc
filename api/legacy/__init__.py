"""The original API under /api, kept byte-for-byte compatible."""
