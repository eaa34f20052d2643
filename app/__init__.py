"""R-NET non-curative resection risk calculator: statistics pipeline and web calculator."""

__version__ = "0.1.0"
