"""Pretraining and fine-tuning of vsumgui's trainable methods (imports vsumgui.core, never Qt)."""
