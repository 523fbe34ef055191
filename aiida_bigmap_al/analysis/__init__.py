"""Tables and plots of campaigns and benchmarks (matplotlib, no display needed)."""
