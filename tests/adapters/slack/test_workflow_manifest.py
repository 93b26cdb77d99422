"""The manifest declares what the Workflow Builder steps read and return, and the Grid settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from adapters.slack.workflows.steps import STEPS

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-manifest.yml"
SAMPLES: dict[str, dict[str, Any]] = {
    "crisis_announce": {"crisis": "C2", "text": "Down", "everyone": True},
    "consult_open": {"community": "ops", "question": "Day?", "options": ["a", "b"], "closes": "2d",
                     "anonymous": True},
    "digest_now": {"community": "ops"},
}


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_step_is_declared_with_its_inputs_and_outputs() -> None:
    functions = _manifest()["functions"]
    assert set(functions) == {s.callback_id for s in STEPS}
    for step in STEPS:
        declared = functions[step.callback_id]
        inputs = declared["input_parameters"]["properties"]
        assert inputs["user_context"]["type"] == "slack#/types/user_context"
        assert "user_context" in declared["input_parameters"]["required"]
        sample = SAMPLES[step.callback_id]
        assert set(sample) == set(inputs) - {"user_context"}, step.callback_id
        assert step.command(sample)  # every declared input is one the step reads
        outputs = step.outputs(sample, "Consultation V7 opened")
        assert set(outputs) == set(declared["output_parameters"]["properties"]), step.callback_id
        assert set(declared["output_parameters"]["required"]) <= set(outputs)


def test_commands_from_inputs_are_the_typed_ones() -> None:
    by_id = {s.callback_id: s for s in STEPS}
    assert by_id["crisis_announce"].command(SAMPLES["crisis_announce"]) == 'crisis announce C2 "Down" --everyone'
    assert (by_id["consult_open"].command(SAMPLES["consult_open"])
            == 'consult open ops "Day?" "a" "b" --closes "2d" --anonymous')
    assert by_id["digest_now"].command({"community": "ops"}) == "digest now ops"


def test_grid_and_steps_settings() -> None:
    manifest = _manifest()
    assert manifest["settings"]["org_deploy_enabled"] is True
    assert manifest["settings"]["function_runtime"] == "remote"
    assert "function_executed" in manifest["settings"]["event_subscriptions"]["bot_events"]
