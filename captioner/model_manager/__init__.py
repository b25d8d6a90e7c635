"""Getting real models onto the machine: the catalogue, resumable verified downloads, the installed models."""
