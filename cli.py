#!/usr/bin/env python3
"""The dispatcher's command-line client: `python cli.py --help`."""

from console.app import run

if __name__ == "__main__":
    run()
