"""The tool's version, recorded with every experiment and upload."""

__version__ = "0.1.0"
