"""Multi-GPU / multi-node training with PyTorch DistributedDataParallel under ``torchrun``.

``torchrun`` sets RANK, WORLD_SIZE and LOCAL_RANK; the same ``edgefer train`` command then
runs once per process. NCCL on GPUs, gloo on CPUs. Only rank 0 writes files.

    torchrun --nproc_per_node 4 -m edgefer train --data fer2013.csv.gz ...        # 4 GPUs
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_endpoint HOST:29500 -m edgefer train ...
"""

import os

import torch
import torch.distributed as dist


class Context(object):
    def __init__(self, rank=0, world_size=1, local_rank=0, device="cpu"):
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.device = torch.device(device)

    @property
    def distributed(self):
        return self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0

    def barrier(self):
        if self.distributed:
            dist.barrier()

    def gather(self, obj):
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self):
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def setup(device="auto"):
    """Read torchrun's environment, pick the device and start the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = "cuda:%d" % (local % max(1, torch.cuda.device_count()))
    if str(device).startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if str(device).startswith("cuda") else "gloo")
    if str(device) == "cpu" and world > 1:
        # processes on one machine share its cores
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return Context(rank, world, local, device)
