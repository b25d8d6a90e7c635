"""Speed, memory and accuracy benchmarks; each runs as a module from the repository root (see README.md)."""
