"""The model as the calculator uses it: artifact, prediction, nomogram geometry (numpy and pydantic only)."""
