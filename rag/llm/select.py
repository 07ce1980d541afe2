"""The automatic choice of generator when none is configured.

GPU in-process if CUDA is there; else llama.cpp on the offline CPU pack if both are installed; else the
extractive answerer. The choice is named in every Answer, so nothing about it is hidden.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys

from ..errors import ModelError
from .base import Generator, create_generator


def cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    # importing torch costs ~1.5 s of every start on 2 cores; on Linux without the NVIDIA driver there is
    # no CUDA device for it to find
    if sys.platform.startswith("linux") and not (os.path.exists("/proc/driver/nvidia/version")
                                                 or glob.glob("/dev/nvidia[0-9]*")):
        return False
    import torch

    return torch.cuda.is_available()


def pack_installed(pack_name: str) -> bool:
    from ..models.gguf_pack import find_parts, get_pack

    try:
        find_parts(get_pack(pack_name))
    except ModelError:
        return False
    return True


def choose_generator(settings, progress=None) -> Generator:
    if settings.device != "cpu" and cuda_available():
        return create_generator("transformers", settings)
    if importlib.util.find_spec("llama_cpp") is not None and pack_installed(settings.llm_pack):
        return create_generator("llamacpp", settings)
    if progress:
        progress("No GPU and no CPU model pack with llama-cpp-python installed: answering extractively "
                 "(see README, 'LLM answers on CPU').")
    return create_generator("extractive", settings)
