"""The package version: read by hatchling for the wheel and sent in the User-Agent."""

__version__ = "0.2.0"
