"""Audio capture for the desktop app: devices and files → a lock-free ring buffer → 16 kHz mono.

Qt-free so it can be tested (and benchmarked) without a display.
"""
