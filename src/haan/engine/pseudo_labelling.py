"""The pseudo-label step of an epoch (spec section 3), in bounded memory and split over processes:
encode every training clip, fit k-means on a uniform sample, label every clip with its atomic
action. The arithmetic is haan.models.pseudo_labels'; this module feeds it the dataset chunk by
chunk and shares its result between the processes of a torchrun launch."""

from __future__ import annotations

import numpy as np
import torch

from haan.config import Config
from haan.data import Dataset
from haan.evaluation.evaluate import chunk_clips, video_chunks
from haan.models.haan import HAAN
from haan.models.pseudo_labels import (
    KMeansOptions,
    PseudoLabelState,
    check_sample_size,
    concept_weights,
    fit_concepts,
    sample_indices,
)
from haan.runtime.distributed import SINGLE, Processes, all_reduce_sum, broadcast_object, my_chunks
from haan.runtime.memory import release_freed_memory
from haan.runtime.precision import on_rows

# Above this, pseudo labelling encodes the training clips twice rather than holding them all
# (FineGym: 2.4 GB of encoded clips, FineAction 3.5 GB; a second pass costs ~10% of an epoch).
PSEUDO_LABEL_CACHE_BYTES = 256 << 20


@torch.no_grad()
def _encode(model: HAAN, dataset: Dataset, videos: np.ndarray, device: torch.device,
            precision: str = "fp32") -> torch.Tensor:
    """(sum T_i, H) encoder outputs of every valid clip of these videos, in eval mode."""
    clips = torch.from_numpy(dataset.clips(videos)).to(device)
    return on_rows(lambda x: model.encoder(x)[1], clips, precision)


def make_pseudo_labels(model: HAAN, dataset: Dataset, config: Config, device: torch.device,
                       generator: torch.Generator, progress: bool = False,
                       procs: Processes = SINGLE) -> PseudoLabelState:
    """Encode the training clips, fit k-means on a uniform sample of them, label every clip.

    The sample's clip indices are drawn first, so only the sample is ever held whole; the other
    clips are encoded and labelled chunk by chunk (a second encoding pass when this process's
    clips would not fit in PSEUDO_LABEL_CACHE_BYTES). The chunks are those of the one-process
    chunking, split over the processes; k-means runs on the main process and its centres (and the
    generator it advanced) go to every process.
    """
    from tqdm import tqdm

    h, x = config.hyperparameters, config.haan
    train_idx = dataset.train_indices
    lengths = dataset.lengths[train_idx]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (N + 1,) clip offsets
    chunks = video_chunks(lengths, chunk_clips(dataset.feature_size))
    mine = my_chunks(len(chunks), procs)
    num_clips = int(starts[-1])
    sample = sample_indices(num_clips, h.clustering_sample_rate, generator)  # (S,) clip indices
    check_sample_size(len(sample), num_clips, h.num_visual_concepts, h.clustering_sample_rate)
    place = torch.full((num_clips,), -1, dtype=torch.int64)  # (M,) position in the sample
    place[sample] = torch.arange(len(sample))
    my_clips = sum(int(starts[chunks[i][-1] + 1] - starts[chunks[i][0]]) for i in mine)
    cache = my_clips * h.encoded_feature_size * 4 <= PSEUDO_LABEL_CACHE_BYTES
    show = progress and procs.main
    model.eval()

    # 1. encode; keep the sampled clips (and everything, when it fits). Each process fills the
    # sample rows of its chunks in place, so nothing chunk-sized outlives its chunk.
    encoded: dict[int, torch.Tensor] = {}
    sample_x = torch.zeros(len(sample), h.encoded_feature_size, device=device)  # (S, H)
    for i in tqdm(mine, desc="encode", unit="chunk", disable=not show, leave=False):
        clips = _encode(model, dataset, train_idx[chunks[i]], device, x.precision)  # (n, H)
        where = place[starts[chunks[i][0]]:starts[chunks[i][-1] + 1]].to(device)  # (n,)
        chosen = where >= 0
        sample_x[where[chosen]] = clips[chosen]
        if cache:
            encoded[i] = clips
        del clips
        release_freed_memory()
    sample_x = all_reduce_sum(sample_x, procs)  # the rows are disjoint: their sum is their union

    # 2. k-means on the main process
    concepts = None
    if procs.main:
        with tqdm(desc="k-means++ seeds", unit="seed", total=h.num_visual_concepts,
                  disable=not show, leave=False) as seeding, \
                tqdm(desc="k-means", unit="iter", disable=not show, leave=False) as lloyd:
            concepts = fit_concepts(
                sample_x, h.num_visual_concepts, generator=generator,
                options=KMeansOptions.from_config(x), on_iteration=lambda _: lloyd.update(),
                on_seed=seeding.update, overwrite_sample=True)
        concepts = concepts.to(torch.device("cpu"))
    concepts, generator_state = broadcast_object((concepts, generator.get_state()), procs)
    generator.set_state(generator_state)
    concepts = concepts.to(device)
    del sample_x

    # 3. label every clip, chunk by chunk
    labels = torch.zeros(num_clips, dtype=torch.int64, device=device)  # (M,)
    for i in tqdm(mine, desc="label", unit="chunk", disable=not show or cache, leave=False):
        clips = (encoded.pop(i) if cache
                 else _encode(model, dataset, train_idx[chunks[i]], device, x.precision))
        labels[starts[chunks[i][0]]:starts[chunks[i][-1] + 1]] = concepts.assign(clips)
        del clips
        release_freed_memory()
    labels = all_reduce_sum(labels, procs)  # each process labelled its chunks, zeros elsewhere
    return PseudoLabelState(labels=labels, offsets=torch.from_numpy(starts).to(device),
                            weights=concept_weights(labels, h.num_visual_concepts),
                            inertia=float(concepts.inertia))


__all__ = ["PSEUDO_LABEL_CACHE_BYTES", "make_pseudo_labels"]
