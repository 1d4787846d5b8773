"""The embedded default: Berth on a moto server on 127.0.0.1 (see sandbox.py)."""
