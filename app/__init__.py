"""R-NET non-R0 risk calculator: statistics pipeline and web calculator."""

__version__ = "0.1.0"
