"""Many processes, launched by torchrun: the process group, this process's share of the work and
the few collectives the training loop needs. torch.distributed only, nothing home-made.

Every function is the identity (or a no-op) in a single process, so `haan.engine.loop` reads the same
with one process or many. The rules that keep a run on N processes equal to one process:
- each global batch is split into N contiguous parts of videos (`split`); the loss of each part is
  multiplied by N so that DistributedDataParallel's gradient average is the gradient of the whole
  batch's summed loss;
- work over many videos (encoding for pseudo labels, evaluation) is split in whole chunks of the
  one-process chunking (`my_chunks`), so each chunk is computed exactly as one process would;
- everything random comes from streams that all processes advance in step (see haan.models.haan.dropout).
"""

from __future__ import annotations

import datetime
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.distributed as dist

from haan.errors import InputError
from haan.runtime.launch import in_process_group, launched_by_torchrun


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


SINGLE = Processes()


def start(device_name: str) -> tuple[Processes, str]:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on the CPU) and return this
    process's place and the device it should use (cuda:LOCAL_RANK for `auto`/`cuda` on GPUs)."""
    if not in_process_group():
        return SINGLE, device_name
    procs = Processes(rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]),
                      local_rank=int(os.environ["LOCAL_RANK"]))
    cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    if cuda:
        if not torch.cuda.is_available():
            raise InputError(f"--device {device_name}: CUDA is not available on this machine")
        device_name = f"cuda:{procs.local_rank}"
        torch.cuda.set_device(procs.local_rank)
    elif device_name == "auto":
        device_name = "cpu"
    if not dist.is_initialized():
        timeout = datetime.timedelta(minutes=30)
        # torchrun's agent (or rank 0) holds the key-value store. The keys of a worker group
        # that torchrun restarted after a failure go under a prefix of their own: otherwise the
        # new processes can read the addresses their dead predecessors left there.
        agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true"
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                              procs.world_size, is_master=not agent_store and procs.rank == 0,
                              timeout=timeout)
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout, rank=procs.rank,
                                world_size=procs.world_size,
                                store=dist.PrefixStore(f"haan/attempt_{attempt}", store))
    return procs, device_name


def stop(procs: Processes, completed: bool = True) -> None:
    """Leave the process group. After a completed run every process first waits for the others:
    tearing gloo down while a peer was still finishing aborted the peer now and then ('terminate
    called without an active exception': 1 two-process launch in 14 here, none in 48 with the
    barrier). After a failure, no barrier: a peer may never come. The same message at the very
    end of a process has another cause, the interpreter's finalization: see
    `haan.runtime.launch.exit_process`."""
    if procs.distributed and dist.is_initialized():
        if completed:
            dist.barrier()
        dist.destroy_process_group()


@contextmanager
def joined(device_name: str) -> Iterator[tuple[Processes, str]]:
    """`start` on entering, `stop` on leaving: completed unless the body raised."""
    procs, device_name = start(device_name)
    try:
        yield procs, device_name
    except BaseException:
        stop(procs, completed=False)
        raise
    stop(procs)


def split(count: int, procs: Processes) -> tuple[int, int]:
    """[start, stop) of this process's contiguous part of `count` items (the first parts one
    longer when `count` does not divide; a part may be empty)."""
    base, extra = divmod(count, procs.world_size)
    start = procs.rank * base + min(procs.rank, extra)
    return start, start + base + (procs.rank < extra)


def my_chunks(num_chunks: int, procs: Processes) -> list[int]:
    """The chunks this process computes: every world_size-th, so long and short ones mix."""
    return list(range(procs.rank, num_chunks, procs.world_size))


def _collective_device(procs: Processes) -> torch.device:
    return torch.device(f"cuda:{procs.local_rank}") if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_sum(x: torch.Tensor, procs: Processes) -> torch.Tensor:
    """The elementwise sum of `x` over all processes (a new tensor on x's device)."""
    if not procs.distributed:
        return x
    y = x.detach().to(_collective_device(procs), copy=True)
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y.to(x.device)


def all_gather_objects(obj: Any, procs: Processes) -> list[Any]:
    """Every process's `obj`, in rank order (picklable objects; tensors should be on the CPU)."""
    if not procs.distributed:
        return [obj]
    out: list[Any] = [None] * procs.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, procs: Processes, source: int = 0) -> Any:
    """The main process's `obj` on every process."""
    if not procs.distributed:
        return obj
    box = [obj if procs.rank == source else None]
    dist.broadcast_object_list(box, src=source)
    return box[0]


def on_main(procs: Processes, action: Callable[[], Any]) -> Any:
    """Run `action` on the main process only; its result, or its error, on every process (so
    that no process waits forever for one that stopped)."""
    result, error = None, None
    if procs.main:
        try:
            result = action()
        except InputError as exc:
            error = str(exc)
    result, error = broadcast_object((result, error), procs)
    if error is not None:
        raise InputError(error)
    return result


def merge_chunks(parts: Sequence[dict[int, Any]]) -> list[Any]:
    """{chunk id: value} dicts gathered from all processes -> the values in chunk order."""
    merged: dict[int, Any] = {}
    for part in parts:
        merged.update(part)
    return [merged[i] for i in sorted(merged)]


__all__ = ["Processes", "SINGLE", "all_gather_objects", "all_reduce_sum",
           "broadcast_object", "launched_by_torchrun", "merge_chunks", "my_chunks", "on_main", "split",
           "joined", "start", "stop"]
