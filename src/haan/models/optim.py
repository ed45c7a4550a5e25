"""torch's Adam, started without torch.compile's bookkeeping.

torch.optim wraps `Optimizer.add_param_group`, `zero_grad`, `state_dict`, `load_state_dict` and the
functional `adam` in `torch._disable_dynamo`, and `Adam.step` in a wrapper that imports
torch._dynamo, so that torch.compile leaves them out of its graphs. The first call of any of them
imports torch._dynamo: 1.1 s of a 2-second start-up here, for a program that compiles nothing.
`Adam` below is torch.optim.Adam with those wrappers given what they cache after that import, the
plain function (so they call it straight away), and its step taken unwrapped, under no_grad as the
wrapper runs it. The arithmetic is torch's own (the fused kernel included). On a torch whose
optimizers lack these wrappers, nothing changes.
"""

from __future__ import annotations

import torch

_DISABLE_CACHE = "__dynamo_disable"  # the attribute torch._disable_dynamo caches its function in


def _call_plainly() -> None:
    import torch.optim.adam as adam_module

    Optimizer = torch.optim.Optimizer
    for wrapper in (Optimizer.add_param_group, Optimizer.zero_grad, Optimizer.state_dict,
                    Optimizer.load_state_dict, adam_module.adam):
        plain = getattr(wrapper, "__wrapped__", None)
        if plain is not None and not hasattr(plain, _DISABLE_CACHE):
            setattr(plain, _DISABLE_CACHE, plain)


class Adam(torch.optim.Adam):
    def __init__(self, params, **kwargs) -> None:
        _call_plainly()
        super().__init__(params, **kwargs)

    @torch.no_grad()
    def step(self, closure=None):
        step = getattr(torch.optim.Adam.step, "__wrapped__", None)
        if step is None or self.defaults.get("differentiable"):
            return super().step(closure)
        return step(self, closure)


__all__ = ["Adam"]
