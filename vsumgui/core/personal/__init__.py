"""Personalization from a few keep / skip labels, in parts: `store` (where a profile's model lives
and which labelled samples it learns from), `likes` (the personal model: a similarity expert
combined with the pretrained curve), `visp` (fine-tuning ViSP without forgetting), `suggest`
(which shots to label next) and `honour` (a selection that keeps the labels). The entry points
`personalize` and `personal_scores` are in vsumgui.core.personalize."""
