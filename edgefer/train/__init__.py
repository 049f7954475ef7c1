"""Host-side training (torch, timm, torchvision: the ``train`` extra)."""
