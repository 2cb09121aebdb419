"""Embedded-Gaussian non-local block (Wang et al. 2018) attending over a whole clip.

The affinity matrix covers every (t, h, w) position of a clip: 4096 x 4096 per clip at layer2
with T=8, which is what limited the paper to 2-3 clips per GPU. The block therefore runs its
attention through PyTorch's fused scaled-dot-product kernel (scale 1, since the embedded-Gaussian
form has no 1/sqrt(d)), which never stores that matrix. ``plain_attention`` is the textbook
formula, kept as the reference that tests and the memory benchmark compare against.
"""

import torch
from torch import Tensor, nn
from torch.nn import functional


def plain_attention(query: Tensor, key: Tensor, value: Tensor) -> Tensor:
    """softmax(q k^T) v with the full affinity matrix materialised."""
    return torch.softmax(query @ key.transpose(-2, -1), dim=-1) @ value


def fused_attention(query: Tensor, key: Tensor, value: Tensor) -> Tensor:
    """The same softmax(q k^T) v through the fused kernel, without the affinity matrix."""
    return functional.scaled_dot_product_attention(query, key, value, scale=1.0)


class NonLocalBlock(nn.Module):
    """z = x + W_z(softmax(theta(x)^T phi(x)) g(x)) over all T*H*W positions of a clip.

    W_z ends in a BatchNorm3d whose weight and bias start at zero, so a freshly built block is
    the identity and inserting it does not disturb ImageNet-initialised features.
    ``fused`` selects the attention path; both compute the same function.
    """

    def __init__(self, channels: int, inner_channels: int | None = None, *, fused: bool = True):
        super().__init__()
        inner = inner_channels if inner_channels is not None else max(channels // 2, 1)
        self.inner_channels = inner
        self.fused = fused
        self.theta = nn.Conv3d(channels, inner, kernel_size=1)
        self.phi = nn.Conv3d(channels, inner, kernel_size=1)
        self.g = nn.Conv3d(channels, inner, kernel_size=1)
        w_z_norm = nn.BatchNorm3d(channels)
        nn.init.zeros_(w_z_norm.weight)
        nn.init.zeros_(w_z_norm.bias)
        self.w_z = nn.Sequential(nn.Conv3d(inner, channels, kernel_size=1), w_z_norm)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, T, H, W) -> (B, C, T, H, W)."""
        batch, _, frames, height, width = x.shape

        def positions(projection: nn.Module) -> Tensor:
            # (B, C', T, H, W) -> (B, 1 head, T*H*W, C'). Contiguous: the fused kernels need
            # unit stride on C' and SDPA silently falls back to the materialising path otherwise.
            return projection(x).flatten(2).transpose(1, 2).contiguous().unsqueeze(1)

        attend = fused_attention if self.fused else plain_attention
        y = attend(positions(self.theta), positions(self.phi), positions(self.g))
        y = y.squeeze(1).transpose(1, 2).reshape(batch, self.inner_channels, frames, height, width)
        return x + self.w_z(y)
