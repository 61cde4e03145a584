"""Runnable examples of casty. ``casty-quickstart`` runs :mod:`examples.quickstart`."""
