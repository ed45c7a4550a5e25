"""The size-bound settings of an imported dataset's config, derived from the data instead of
copied from the paper's template (`haan data import`), each with its reason, printed at import.

The template (FineGym's or FineAction's [hyperparameters]) is kept wherever the data is of the
paper's size; only what the data's size bounds changes:

- `feature_size` is the features' D.
- `encoded_feature_size` H is at most D: the encoder maps D values to H (the paper: 2048 -> 2048
  on FineGym, 4096 -> 1024 on FineAction); a wider H on narrow features only adds parameters
  (the run folder holds five copies of them: best and last checkpoints, the training state with
  Adam's two moments).
- `num_visual_concepts` K and `clustering_sample_rate`: k-means fits K clusters on
  int(rate x training clips) clips (spec section 3). The template's pair is kept while that
  sample holds at least CLIPS_PER_CONCEPT clips per concept (FineGym: 30,015 clips for 500,
  60 each; FineAction: 25,320, 50 each). Below that the rate rises (at most to 1, every clip),
  and only when even every clip is too few does K shrink to training clips / CLIPS_PER_CONCEPT
  (at least num_top_visual_concepts, and at most the clips there are).
- `num_top_visual_concepts` is at most K (the config requires it).
- `batch_size` is at most the number of training videos.
- `epochs` is the template's: it bounds nothing (an epoch of a small dataset is short).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

# Clips per visual concept in the k-means sample below which the sample is too thin to fit K
# clusters (the paper's datasets have 50 and 60).
CLIPS_PER_CONCEPT = 20


def _concepts(template: Mapping[str, Any], clips: int) -> tuple[int, float, str]:
    """(K, clustering_sample_rate, the reason)."""
    K, rate = template["num_visual_concepts"], template["clustering_sample_rate"]
    sample = int(rate * clips)
    need = CLIPS_PER_CONCEPT * K
    if sample >= need:
        return K, rate, (f"the template's: the k-means sample, int({rate:g} x {clips:,} training "
                         f"clips) = {sample:,}, has >= {CLIPS_PER_CONCEPT} clips per concept")
    if clips >= need:
        raised = min(1.0, math.ceil(need / clips * 1000) / 1000)  # 3 decimals, rounded up
        return K, raised, (f"clustering_sample_rate {rate:g} -> {raised:g}: int({rate:g} x "
                           f"{clips:,} training clips) = {sample:,} is fewer than "
                           f"{CLIPS_PER_CONCEPT} clips for each of {K} concepts")
    top = template["num_top_visual_concepts"]
    base = clips // CLIPS_PER_CONCEPT
    fitted = min(clips, max(top, base))
    why = (f"all {clips:,} training clips make {base} concepts of {CLIPS_PER_CONCEPT} clips"
           if base else f"all {clips:,} training clips are fewer than {CLIPS_PER_CONCEPT}")
    if fitted > base:  # the config needs K >= num_top_visual_concepts
        why += f", raised to num_top_visual_concepts = {top}"
        if fitted < top:
            why += f" but at most one concept per clip: {fitted}"
    return fitted, 1.0, (f"num_visual_concepts {K} -> {fitted}, clustering_sample_rate {rate:g} "
                         f"-> 1: {why}")


def fit_hyperparameters(template: Mapping[str, Any], *, feature_dim: int, num_training_clips: int,
                        num_training_videos: int) -> tuple[dict[str, Any], list[str]]:
    """The template's [hyperparameters] with the size-bound settings fitted to the data (see the
    module's docstring), and one line per setting saying what it is and why."""
    out = dict(template)
    reasons = []
    out["feature_size"] = feature_dim
    reasons.append(f"feature_size = {feature_dim}: the features' D")
    H = template["encoded_feature_size"]
    out["encoded_feature_size"] = min(H, feature_dim)
    reasons.append(f"encoded_feature_size = {out['encoded_feature_size']}: "
                   + (f"the template's ({H}), at most D" if H <= feature_dim
                      else f"the template's {H} cut to D = {feature_dim} (a wider encoder on "
                           f"{feature_dim}-d features only adds parameters)"))
    K, rate, why = _concepts(template, num_training_clips)
    out["num_visual_concepts"], out["clustering_sample_rate"] = K, rate
    reasons.append(f"num_visual_concepts = {K}, clustering_sample_rate = {rate:g}: {why}")
    top = template["num_top_visual_concepts"]
    out["num_top_visual_concepts"] = min(top, K)
    if top > K:
        reasons.append(f"num_top_visual_concepts = {K}: the template's {top} cut to K")
    batch = template["batch_size"]
    out["batch_size"] = min(batch, num_training_videos)
    if batch > num_training_videos:
        reasons.append(f"batch_size = {out['batch_size']}: the template's {batch} cut to the "
                       f"{num_training_videos} training videos")
    reasons.append(f"epochs = {template['epochs']}: the template's (not bound by the data's size)")
    return out, reasons


__all__ = ["CLIPS_PER_CONCEPT", "fit_hyperparameters"]
