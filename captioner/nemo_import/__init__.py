"""Turning a NeMo .nemo checkpoint into a Captioner model folder without NeMo or torch."""
