"""Turning executed notebooks into numbered, captioned HTML and PDF reports."""
