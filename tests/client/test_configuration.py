"""The client sends a WorkflowConfiguration as the workflow's JSON document."""

from __future__ import annotations

import json

from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.testing import make_sid
from taskrouter_flask.workflow import WorkflowConfiguration

from ..test_workflow import SEED
from .conftest import FakeApi


def test_the_client_sends_a_configuration_object(api: FakeApi) -> None:
    config = WorkflowConfiguration.from_json(SEED)
    with TaskRouterClient(make_sid("AC"), "t", make_sid("WS"), base_url=api.url) as client:
        api.reply(201, {"sid": make_sid("WW"), "configuration": config.to_json()})
        workflow = client.workflows.create(friendly_name="Tickets", configuration=config)
    assert json.loads(api.requests[0].form["Configuration"]) == json.loads(SEED)
    assert workflow.configuration == json.loads(SEED)
