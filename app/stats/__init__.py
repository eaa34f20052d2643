"""Cohort reading, fitting and validation: from a cohort file to a model artifact."""
