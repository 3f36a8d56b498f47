"""A small desk for the worker SDK tests: a keyed sandbox, one workspace, two agents.

Built once here for the gateway's Python tests, the node tests with Twilio's real SDK and
the benchmark, so that each says only what it checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from taskrouter_flask.access_token import Role, mint_worker_token
from taskrouter_flask.sandbox.server import Sandbox

__all__ = ["KEY", "SECRET", "Desk", "build_desk", "gateway_post"]

KEY = "SK" + "5d" * 16
#: Twilio's API key secrets are 32 characters (PyJWT warns about shorter HMAC keys).
SECRET = "s3cr3t-of-the-sandbox-api-key-32"


@dataclass(frozen=True)
class Desk:
    """The SIDs of the desk and a way to mint tokens for it."""

    sandbox: Sandbox
    workspace: str
    activities: dict[str, str]
    queue: str
    workflow: str
    alice: str
    bob: str

    def token(
        self,
        worker_sid: str | None = None,
        *,
        role: Role = "worker",
        ttl: int = 3600,
        secret: str = SECRET,
        api_key_sid: str = KEY,
        now: float | None = None,
    ) -> str:
        """A token for ``worker_sid`` (alice by default), issued at the sandbox's time."""
        return mint_worker_token(
            account_sid=self.sandbox.account_sid,
            api_key_sid=api_key_sid,
            api_key_secret=secret,
            workspace_sid=self.workspace,
            worker_sid=worker_sid or self.alice,
            role=role,
            ttl=ttl,
            now=self.sandbox.clock.now().timestamp() if now is None else now,
        )

    def create_task(self, **attributes: Any) -> str:
        task = self.sandbox.client(self.workspace).tasks.create(
            workflow_sid=self.workflow, attributes=json.dumps(attributes or {"type": "ticket"})
        )
        return task.sid


def build_desk(sandbox: Sandbox, *, workers: int = 2) -> Desk:
    """A workspace with a queue for every worker, a workflow with no assignment callback (so
    reservations wait for the agents) and ``workers`` offline agents (alice, bob, agent-3...)."""
    client = sandbox.client()
    workspace = client.workspaces.create(friendly_name="agents").sid
    client = sandbox.client(workspace)
    activities = {a.friendly_name: a.sid for a in client.activities.list()}
    queue = client.task_queues.create(friendly_name="support", target_workers="1==1").sid
    routing = {"task_routing": {"filters": [], "default_filter": {"queue": queue}}}
    workflow = client.workflows.create(
        friendly_name="inbound", configuration=json.dumps(routing), task_reservation_timeout=120
    ).sid
    names = ["alice", "bob", *(f"agent-{n}" for n in range(3, workers + 1))]
    sids = [
        client.workers.create(friendly_name=name, attributes=json.dumps({"name": name})).sid
        for name in names[:workers]
    ]
    return Desk(sandbox, workspace, activities, queue, workflow, sids[0], sids[1])


def gateway_post(
    sandbox: Sandbox,
    token: str,
    url: str,
    method: str = "GET",
    params: dict[str, Any] | None = None,
    **headers: str,
) -> requests.Response:
    """One SDK call as the SDK sends it: JSON text under a form content type."""
    body = json.dumps({"url": url, "method": method, "params": params or {}, "token": token})
    return requests.post(
        sandbox.sdk_servers["ebServer"],
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "apiVersion": "v1",
            **headers,
        },
        timeout=10,
    )
