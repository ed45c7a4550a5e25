"""haan.models.optim.Adam: torch's Adam, bit for bit, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from haan.models.optim import Adam


@pytest.mark.parametrize("kwargs", [dict(lr=1e-2, fused=True),
                                    dict(lr=1e-3, weight_decay=5e-4, fused=True),
                                    dict(lr=1e-2)])
def test_the_same_steps_as_torchs_adam(kwargs):
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    b = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    b.load_state_dict(a.state_dict())
    ours, theirs = Adam(a.parameters(), **kwargs), torch.optim.Adam(b.parameters(), **kwargs)
    for step in range(5):
        x = torch.randn(4, 7, generator=torch.Generator().manual_seed(step))
        for model, optimizer in ((a, ours), (b, theirs)):
            optimizer.zero_grad(set_to_none=True)
            model(x).square().sum().backward()
            optimizer.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    state = ours.state_dict()
    theirs_state = theirs.state_dict()
    assert all(torch.equal(state["state"][k]["exp_avg"], theirs_state["state"][k]["exp_avg"])
               for k in state["state"])
    again = Adam(a.parameters(), **kwargs)
    again.load_state_dict(state)  # resumes as torch's does
    assert again.state_dict()["state"][0]["step"] == 5


def test_no_torch_dynamo_import():
    code = ("import sys, torch\nfrom haan.models.optim import Adam\n"
            "m = torch.nn.Linear(3, 2); o = Adam(m.parameters(), lr=0.1, fused=True)\n"
            "m(torch.randn(2, 3)).sum().backward(); o.step(); o.zero_grad()\n"
            "o.load_state_dict(o.state_dict())\n"
            "print('torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
