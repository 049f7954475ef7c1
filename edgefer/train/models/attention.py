"""EfficientNet-B0 with spatial attention over its last feature map.

The trunk is timm's ``efficientnet_b0`` without its pooling and classifier. A CBAM-style
spatial-attention block (Woo et al., "CBAM", ECCV 2018) gates every position of the last
feature map: the channel-wise mean and max maps go through a k x k convolution and a
sigmoid, and the features are multiplied by that map, so the pooled descriptor weighs the
face regions that carry the expression (mouth, eyes, brows) more than background. Then
global average pooling, dropout, and a new linear head. Every op (ReduceMean, ReduceMax,
Conv, Sigmoid, Mul) exports to ONNX and quantizes with ONNX Runtime and TensorRT.
"""

import torch
from torch import nn


class SpatialAttention(nn.Module):
    """x * sigmoid(conv_kxk([mean_c(x), max_c(x)]))."""

    def __init__(self, kernel_size=7):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError("kernel_size must be odd")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.bn(self.conv(desc)))


class EfficientNetAttention(nn.Module):
    """A timm EfficientNet trunk + :class:`SpatialAttention` + pooling, dropout, linear head."""

    def __init__(self, num_classes, trunk="efficientnet_b0", drop_rate=0.3, attention_kernel=7,
                 pretrained=False, pretrained_cfg_overlay=None, drop_path_rate=0.0):
        super().__init__()
        import timm

        self.trunk = timm.create_model(
            trunk, pretrained=pretrained, num_classes=0, global_pool="",
            pretrained_cfg_overlay=pretrained_cfg_overlay, drop_path_rate=drop_path_rate,
        )
        self.attention = SpatialAttention(attention_kernel)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.trunk.num_features, num_classes)
        self.num_features = self.trunk.num_features
        self.num_classes = num_classes

    def forward_features(self, x):
        return self.attention(self.trunk(x))

    def forward(self, x):
        x = self.pool(self.forward_features(x)).flatten(1)
        return self.head(self.dropout(x))
