"""Mixed precision, memory format and compilation of a pipeline stage, and where each can run.

``--amp bf16``: each stage runs its forward under ``torch.autocast`` (bfloat16 matmuls and
convolutions; the weights, the optimiser and the loss stay float32). bfloat16 has float32's
exponent range, so gradients need no loss scaling. float16 would need a GradScaler whose
overflow check spans every stage of the pipeline and every replica, which this engine does not
do, so fp16 is refused rather than trained unscaled.

Stage boundaries stay float32 and contiguous whatever runs inside (:class:`StageIO`): the
pipeline's receive buffers are allocated from static float32 examples, and gloo/NCCL send only
contiguous tensors, while a channels_last or bfloat16 activation is neither.

``channels_last`` (CUDA): the stage's convolution weights are stored NHWC, which cuDNN's tensor
core kernels prefer, and activations follow the weights' layout. ``compile``: the stage module
(inside DDP when data parallel) goes through ``torch.compile``; whether that can run here (a C++
compiler for the CPU, Triton for CUDA, a supported Python) is probed once on a tiny function.
"""

import logging
from typing import Literal

import torch
import torch._dynamo
from torch import Tensor, nn

from hadoop.cli import one_line

AmpName = Literal["bf16", "fp16"]
AMP_CHOICES: tuple[AmpName, ...] = ("bf16", "fp16")


class StageIO(nn.Module):
    """Runs ``inner`` (under autocast to ``amp``, if given) and hands its outputs on as float32
    contiguous tensors, the form the pipeline's static buffers and collectives expect."""

    def __init__(self, inner: nn.Module, device: torch.device, amp: torch.dtype | None) -> None:
        super().__init__()
        self.inner = inner
        self.device_type = device.type
        self.amp = amp

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, ...]:
        if self.amp is None:
            out = self.inner(x)
        else:
            with torch.autocast(self.device_type, dtype=self.amp):
                out = self.inner(x)
        if isinstance(out, tuple):
            return tuple(t.float().contiguous() for t in out)
        return out.float().contiguous()


def to_channels_last(module: nn.Module) -> None:
    """Store every convolution's weight channels-last (2-D: NHWC; the non-local blocks' 3-D:
    NDHWC), in place; a whole-module ``.to(memory_format=...)`` refuses the 5-D weights."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            layer.to(memory_format=torch.channels_last)
        elif isinstance(layer, nn.Conv3d):
            layer.to(memory_format=torch.channels_last_3d)


def autocast_dtype(amp: AmpName | None) -> torch.dtype | None:
    return {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def precision_problem(device: torch.device, amp: AmpName | None, channels_last: bool,
                      compile_: bool) -> str | None:
    """Why these settings cannot run on ``device`` (None if they can), naming the flag."""
    cuda = device.type == "cuda"
    if amp == "fp16":
        return ("--amp fp16 needs loss scaling across every pipeline stage, which this trainer "
                "does not do" + ("; use --amp bf16" if cuda else "; on the CPU use --amp bf16"))
    if amp == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        return f"--amp bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support"
    if channels_last and not cuda:
        return (f"--channels-last needs a CUDA device (this run is on {device.type}): it is a "
                "cuDNN tensor-core layout")
    if compile_:
        return compile_problem(device)
    return None


def compile_problem(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot run on ``device`` (None if it can): a tiny function is
    compiled and run, which is the only reliable test (a missing C++ compiler or Triton, an
    unsupported Python or platform all surface there)."""
    def probe(x: Tensor) -> Tensor:
        return torch.relu(x * 2.0 + 1.0)

    inductor = logging.getLogger("torch._inductor")  # its warnings would add lines to ours
    level = inductor.level
    inductor.setLevel(logging.ERROR)
    try:
        probe_compiled = torch.compile(probe, dynamic=False)
        probe_compiled(torch.ones(8, device=device))
    except Exception as exc:  # any failure means: it cannot compile here
        reason = one_line(exc).split(" Set TORCHDYNAMO_VERBOSE")[0]  # less the debug hints
        return f"--compile: torch.compile cannot run on {device.type} here: {reason}"
    finally:
        torch._dynamo.reset()
        inductor.setLevel(level)
    return None
