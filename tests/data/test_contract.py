"""The feature contract: its JSON round trip, its checks and its differences."""

import pytest

from haan.data.contract import FeatureContract, differences, mismatch_message
from haan.errors import InputError

SHA = "ab" * 32


def rgb_contract(**changes) -> FeatureContract:
    values = dict(extractor="haan-i3d", streams="rgb", fps=25.0, clip_frames=16, stride=16,
                  feature_dim=1024, weights_sha256={"rgb": SHA})
    values.update(changes)
    return FeatureContract(**values)


def test_json_round_trip_and_rate():
    contract = rgb_contract()
    data = contract.to_json()
    assert data["clips_per_second"] == 25.0 / 16
    assert FeatureContract.from_json(data, "a.json") == contract


def test_weights_are_copied_so_the_contract_cannot_change():
    weights = {"rgb": SHA}
    contract = rgb_contract(weights_sha256=weights)
    weights["rgb"] = "random"
    assert contract.weights_sha256["rgb"] == SHA


@pytest.mark.parametrize("key, value, words", [
    ("fps", "25", "'fps' is '25'"),
    ("clip_frames", 16.0, "'clip_frames' is 16.0"),
    ("weights_sha256", {"rgb": SHA, "flow": SHA}, "one entry per stream"),
    ("streams", "flow", "streams 'flow'"),
])
def test_bad_json_names_the_file_and_key(key, value, words):
    data = rgb_contract().to_json()
    data[key] = value
    with pytest.raises(InputError, match="^a.json: ") as error:
        FeatureContract.from_json(data, "a.json")
    assert words in str(error.value)


def test_missing_key():
    data = rgb_contract().to_json()
    del data["stride"]
    with pytest.raises(InputError, match="a.json: the feature contract has no 'stride'"):
        FeatureContract.from_json(data, "a.json")


def test_differences_name_field_run_value_and_input_value():
    run = rgb_contract()
    given = rgb_contract(fps=24.0, weights_sha256={"rgb": "random"})
    found = differences(run, given)
    # fps 24 vs 25 also changes the clip rate: both are reported, in the contract's order
    assert [d[0] for d in found] == ["weights_sha256", "fps", "clips_per_second"]
    assert found[1] == ("fps", 25.0, 24.0)
    assert mismatch_message("v.mp4", found[1]) == (
        "v.mp4: feature contract: fps is 24.0 here but the run was trained on 25.0")
    assert differences(run, rgb_contract()) == []
