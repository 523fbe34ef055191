"""Tests of the calculation jobs."""
