"""Parsers that turn a calculation job's retrieved files into FINALES measurement nodes."""
