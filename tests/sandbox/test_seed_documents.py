"""The two seed documents, run example by example against a real sandbox, through both clients.

``/work/shared/reference/seeds/`` keeps two documents users learned TaskRouter from:

- ``twilio-ruby-taskrouter-guide.txt``: the twilio-ruby guide, six examples (a workspace with
  template FIFO, a workflow, an activity, a worker, a task queue and a task). Each is translated
  line for line: the same resource, the same parameters, the guide's own values.
- ``twilio-php-taskrouter-api.txt``: the twilio-php API reference: every ``create`` method with
  its parameters, the worker list filters, the attributes of every instance resource, events,
  reservations and the statistics resources.

Every test runs twice, once through our :class:`~taskrouter_flask.client.TaskRouterClient` and
once through Twilio's helper library (``twilio.rest.Client``), both pointed at one
:class:`~taskrouter_flask.sandbox.server.Sandbox` on 127.0.0.1. A small adapter per client
hides only what differs in shape between them (``fetch(sid)`` versus ``(sid).fetch()``, where
the statistics live); the document's calls themselves read the same through both, since both
clients take the same snake_case keyword arguments.

Every callback URL a test makes the sandbox call is a local receiver on 127.0.0.1; the Ruby
guide's ``https://example.com`` callback URLs are created and read back as printed, then
pointed at the receiver before any task could make the sandbox call them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from taskrouter_flask.client import ApiError, TaskRouterClient
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox

pytest.importorskip("twilio")

from twilio.base.exceptions import TwilioRestException  # noqa: E402
from twilio.rest import Client  # noqa: E402

DRAIN = 10.0

# -- the Ruby guide's literal values ---------------------------------------------------------

#: The guide's ``CONFIG`` heredoc ("Workflows"), character for character as the document
#: prints it, except its two placeholder queue SIDs: the guide says "See previous examples",
#: so they are replaced by SIDs of queues the test created (see :func:`guide_config`).
GUIDE_CONFIG = (
    '{ "task_routing":{ "filters":[ { "friendly_name":"Gold Tickets",'
    " \"expression\":\"customer_value == 'Gold' AND type == 'ticket'\","
    ' "targets":[ { "task_queue_sid":"WQ0123456789abcdef0123456789abcdef", "priority":"2" } ]'
    ' } ], "default_filter":{ "task_queue_sid":"WQabcdef01234567890123456789abcdef" } } }'
)
GUIDE_GOLD_QUEUE_PLACEHOLDER = "WQ0123456789abcdef0123456789abcdef"
GUIDE_DEFAULT_QUEUE_PLACEHOLDER = "WQabcdef01234567890123456789abcdef"

#: The guide's ``TASK_ATTRIBUTES`` heredoc ("Tasks"), exactly as printed.
GUIDE_TASK_ATTRIBUTES = (
    '{ "type": "call", "contact": "+15558675309", "customer-value": "gold",'
    ' "task-reason": "support", "callSid": "CA42ed11..." }'
)

#: The guide's worker attributes ("Workers"), a JSON string, exactly as printed.
GUIDE_WORKER_ATTRIBUTES = '{"phone": "+14155551234", "languages": ["EN", "ES"]}'


def guide_config(gold_queue_sid: str, default_queue_sid: str) -> str:
    """``CONFIG`` with the placeholder SIDs replaced; ``task_queue_sid`` and ``"2"`` stay."""
    return GUIDE_CONFIG.replace(GUIDE_GOLD_QUEUE_PLACEHOLDER, gold_queue_sid).replace(
        GUIDE_DEFAULT_QUEUE_PLACEHOLDER, default_queue_sid
    )


def test_the_guide_config_keeps_the_printed_shape() -> None:
    """Ruby guide, "Workflows": the substituted CONFIG still has the guide's legacy shape."""
    config = json.loads(guide_config("WQ" + "1" * 32, "WQ" + "2" * 32))
    (gold,) = config["task_routing"]["filters"]
    assert gold["friendly_name"] == "Gold Tickets"
    assert gold["targets"] == [{"task_queue_sid": "WQ" + "1" * 32, "priority": "2"}]
    assert config["task_routing"]["default_filter"] == {"task_queue_sid": "WQ" + "2" * 32}


# -- a local receiver for every callback -----------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Answers every POST with an empty 200 (an assignment stays pending) and records it."""

    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        with self.server.lock:
            self.server.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[tuple[str, str]] = []


@dataclass
class Receiver:
    server: _Server

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def paths(self) -> list[str]:
        with self.server.lock:
            return [path for path, _ in self.server.received]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = _Server()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield Receiver(server)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module; every test builds its own workspaces in it."""
    with Sandbox(clock=ManualClock(), seed=0) as running:
        yield running
        running.drain(DRAIN)


# -- one adapter per client ------------------------------------------------------------------

_PATHS = {
    "activities": "Activities",
    "events": "Events",
    "task_queues": "TaskQueues",
    "tasks": "Tasks",
    "workers": "Workers",
    "workflows": "Workflows",
}


class Api:
    """What differs between the two clients; the document's calls go through ``workspaces``
    and :meth:`workspace`, whose collections take the same keyword arguments in both."""

    name: str
    error: tuple[type[Exception], ...]

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.base_url = sandbox.base_url

    def drain(self) -> bool:
        """Wait until the sandbox delivered its callbacks (all to the local receiver)."""
        return self.sandbox.drain(DRAIN)

    @property
    def workspaces(self) -> Any:
        raise NotImplementedError

    def workspace(self, sid: str) -> Any:
        """The workspace-level resources: ``.activities``, ``.workers``, ``.tasks``, ..."""
        raise NotImplementedError

    # raw HTTP through the client's own connection, for what the models do not keep
    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def post_json(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    # fetch, update, delete: the library's call, then the resource's JSON
    def fetch_workspace(self, sid: str) -> dict[str, Any]:
        raise NotImplementedError

    def fetch(self, ws: str, kind: str, sid: str) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, ws: str, kind: str, sid: str, **params: Any) -> None:
        raise NotImplementedError

    def delete(self, ws: str, kind: str, sid: str) -> None:
        raise NotImplementedError

    def task_reservations(self, ws: str, task_sid: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def worker_reservations(self, ws: str, worker_sid: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def accept(self, ws: str, task_sid: str, reservation_sid: str) -> None:
        raise NotImplementedError

    def events(self, ws: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def statistics(self, ws: str, which: str, sid: str = "") -> dict[str, Any]:
        """The statistics JSON of ``which``: workspace, workflow, workers, worker, task_queue,
        task_queues (the list of every queue's statistics)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # shared helpers
    def path(self, ws: str, kind: str, sid: str = "") -> str:
        tail = f"/{sid}" if sid else ""
        return f"/v1/Workspaces/{ws}/{_PATHS[kind]}{tail}"

    def names(self, items: Any) -> set[str]:
        return {item.friendly_name for item in items}


class OurApi(Api):
    """``taskrouter_flask.client.TaskRouterClient``."""

    name = "taskrouter_flask"
    error = (ApiError,)

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self.client = sandbox.client(backoff_factor=0.01, timeout=10)

    @property
    def workspaces(self) -> Any:
        return self.client.workspaces

    def workspace(self, sid: str) -> TaskRouterClient:
        return self.client.for_workspace(sid)

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self.client.transport.request("GET", path, params=params)
        return body

    def post_json(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = self.client.transport.request("POST", path, data=data)
        return body

    def fetch_workspace(self, sid: str) -> dict[str, Any]:
        found = self.client.workspaces.fetch(sid)
        assert found.sid == sid
        return dict(found.raw)

    def fetch(self, ws: str, kind: str, sid: str) -> dict[str, Any]:
        found = getattr(self.workspace(ws), kind).fetch(sid)
        assert found.sid == sid
        return dict(found.raw)

    def update(self, ws: str, kind: str, sid: str, **params: Any) -> None:
        getattr(self.workspace(ws), kind).update(sid, **params)

    def delete(self, ws: str, kind: str, sid: str) -> None:
        getattr(self.workspace(ws), kind).delete(sid)

    def task_reservations(self, ws: str, task_sid: str) -> list[dict[str, Any]]:
        return [dict(r.raw) for r in self.workspace(ws).tasks.reservations(task_sid).list()]

    def worker_reservations(self, ws: str, worker_sid: str) -> list[dict[str, Any]]:
        return [dict(r.raw) for r in self.workspace(ws).workers.reservations(worker_sid).list()]

    def accept(self, ws: str, task_sid: str, reservation_sid: str) -> None:
        reservations = self.workspace(ws).tasks.reservations(task_sid)
        reservations.update(reservation_sid, reservation_status="accepted")

    def events(self, ws: str) -> list[dict[str, Any]]:
        return [dict(e.raw) for e in self.workspace(ws).events.list()]

    def statistics(self, ws: str, which: str, sid: str = "") -> dict[str, Any]:
        c = self.workspace(ws)
        if which == "task_queues":
            listed = list(c.task_queues.statistics_of_all())
            return {"task_queues_statistics": [dict(s.raw) for s in listed]}
        calls = {
            "workspace": lambda: c.workspace_statistics(),
            "workflow": lambda: c.workflows.statistics(sid),
            "workers": lambda: c.workers.statistics_of_all(),
            "worker": lambda: c.workers.statistics(sid),
            "task_queue": lambda: c.task_queues.statistics(sid),
        }
        return dict(calls[which]().raw)

    def close(self) -> None:
        self.client.close()


class TwilioApi(Api):
    """Twilio's helper library, ``Client(...).taskrouter.v1``, its domain on the sandbox."""

    name = "twilio"
    error = (TwilioRestException,)

    def __init__(self, sandbox: Sandbox) -> None:
        client: Any = Client(sandbox.account_sid, sandbox.auth_token)
        # twilio/rest/taskrouter/TaskrouterBase.py: every TaskRouter request is built on this.
        client.taskrouter.base_url = sandbox.base_url
        super().__init__(sandbox)
        self.client = client

    @property
    def workspaces(self) -> Any:
        return self.client.taskrouter.v1.workspaces

    def workspace(self, sid: str) -> Any:
        return self.client.taskrouter.v1.workspaces(sid)

    def _answer(self, response: Any, what: str) -> dict[str, Any]:
        assert response.status_code < 400, f"{what}: {response.status_code} {response.text}"
        body: dict[str, Any] = json.loads(response.text)
        return body

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.request("GET", self.base_url + path, params=params)
        return self._answer(response, f"GET {path}")

    def post_json(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        response = self.client.request("POST", self.base_url + path, data=data)
        return self._answer(response, f"POST {path}")

    def fetch_workspace(self, sid: str) -> dict[str, Any]:
        assert self.workspace(sid).fetch().sid == sid
        return self.get_json(f"/v1/Workspaces/{sid}")

    def fetch(self, ws: str, kind: str, sid: str) -> dict[str, Any]:
        assert getattr(self.workspace(ws), kind)(sid).fetch().sid == sid
        return self.get_json(self.path(ws, kind, sid))

    def update(self, ws: str, kind: str, sid: str, **params: Any) -> None:
        getattr(self.workspace(ws), kind)(sid).update(**params)

    def delete(self, ws: str, kind: str, sid: str) -> None:
        getattr(self.workspace(ws), kind)(sid).delete()

    def task_reservations(self, ws: str, task_sid: str) -> list[dict[str, Any]]:
        listed = self.workspace(ws).tasks(task_sid).reservations.list()
        page = self.get_json(self.path(ws, "tasks", task_sid) + "/Reservations")
        assert [r.sid for r in listed] == [r["sid"] for r in page["reservations"]]
        reservations: list[dict[str, Any]] = page["reservations"]
        return reservations

    def worker_reservations(self, ws: str, worker_sid: str) -> list[dict[str, Any]]:
        listed = self.workspace(ws).workers(worker_sid).reservations.list()
        page = self.get_json(self.path(ws, "workers", worker_sid) + "/Reservations")
        assert [r.sid for r in listed] == [r["sid"] for r in page["reservations"]]
        reservations: list[dict[str, Any]] = page["reservations"]
        return reservations

    def accept(self, ws: str, task_sid: str, reservation_sid: str) -> None:
        reservation = self.workspace(ws).tasks(task_sid).reservations(reservation_sid)
        reservation.update(reservation_status="accepted")

    def events(self, ws: str) -> list[dict[str, Any]]:
        listed = self.workspace(ws).events.list()
        page = self.get_json(self.path(ws, "events"), {"PageSize": "1000"})
        assert [e.sid for e in listed] == [e["sid"] for e in page["events"]]
        events: list[dict[str, Any]] = page["events"]
        return events

    def statistics(self, ws: str, which: str, sid: str = "") -> dict[str, Any]:
        c = self.workspace(ws)
        base = f"/v1/Workspaces/{ws}"
        if which == "task_queues":
            listed = c.task_queues.statistics.list()
            page = self.get_json(base + "/TaskQueues/Statistics")
            assert [s.task_queue_sid for s in listed] == [
                s["task_queue_sid"] for s in page["task_queues_statistics"]
            ]
            return page
        calls: dict[str, tuple[Callable[[], Any], str]] = {
            "workspace": (lambda: c.statistics().fetch(), base + "/Statistics"),
            "workflow": (
                lambda: c.workflows(sid).statistics().fetch(),
                f"{base}/Workflows/{sid}/Statistics",
            ),
            "workers": (lambda: c.workers.statistics().fetch(), base + "/Workers/Statistics"),
            "worker": (
                lambda: c.workers(sid).statistics().fetch(),
                f"{base}/Workers/{sid}/Statistics",
            ),
            "task_queue": (
                lambda: c.task_queues(sid).statistics().fetch(),
                f"{base}/TaskQueues/{sid}/Statistics",
            ),
        }
        call, path = calls[which]
        call()  # the library's own call must succeed and parse
        return self.get_json(path)

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


@pytest.fixture(params=["taskrouter_flask", "twilio"])
def api(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("TWILIO_EDGE", "TWILIO_REGION"):  # they would rewrite the host name
            patch.delenv(name, raising=False)
        chosen: Api = OurApi(sandbox) if request.param == "taskrouter_flask" else TwilioApi(sandbox)
        yield chosen
        chosen.close()


def keys_in(value: Any) -> set[str]:
    """Every key of every object anywhere in a JSON document."""
    if isinstance(value, dict):
        found = set(value)
        for item in value.values():
            found |= keys_in(item)
        return found
    if isinstance(value, list):
        found = set()
        for item in value:
            found |= keys_in(item)
        return found
    return set()


# =============================================================================================
# twilio-ruby-taskrouter-guide.txt
# =============================================================================================


@dataclass
class Guide:
    """What the guide's examples created, in the order a test ran them."""

    workspace: str = ""
    coffee_break: str = ""
    jamie: str = ""
    sales: str = ""
    sample_queue: str = ""
    workflow: str = ""


def guide_workspace(api: Api, guide: Guide) -> Any:
    """Ruby guide, "Creating a Workspace"."""
    # @workspace = @client.workspaces.create(
    #   friendly_name: "Customer Support",
    #   template: "FIFO", # Sets up default activities and a FIFO TaskQueue
    # )
    workspace = api.workspaces.create(
        friendly_name="Customer Support",
        template="FIFO",  # Sets up default activities and a FIFO TaskQueue
    )
    guide.workspace = workspace.sid
    return workspace


def guide_activity(api: Api, guide: Guide) -> Any:
    """Ruby guide, "Activities"."""
    client = api.workspace(guide.workspace)
    # @activity = @client.activities.create(
    #   friendly_name: "Coffee Break",
    #   available: false # Whether workers are available to handle tasks during this activity
    # )
    activity = client.activities.create(
        friendly_name="Coffee Break",
        available=False,  # Whether workers are available to handle tasks during this activity
    )
    guide.coffee_break = activity.sid
    return activity


def guide_worker(api: Api, guide: Guide) -> Any:
    """Ruby guide, "Workers"."""
    client = api.workspace(guide.workspace)
    # @worker = @client.workers.create(
    #   friendly_name:"Jamie",
    #   attributes:'{"phone": "+14155551234", "languages": ["EN", "ES"]}'
    # )
    worker = client.workers.create(
        friendly_name="Jamie",
        attributes='{"phone": "+14155551234", "languages": ["EN", "ES"]}',
    )
    guide.jamie = worker.sid
    return worker


def guide_task_queue(api: Api, guide: Guide) -> Any:
    """Ruby guide, "TaskQueues"; the two activity SIDs are of activities the test created:
    "Unavailable" (one of the workspace's default activities) and the guide's "Coffee Break"."""
    client = api.workspace(guide.workspace)
    activities = {a.friendly_name: a.sid for a in client.activities.list()}
    reserved_activity, assigned_activity = activities["Unavailable"], guide.coffee_break
    # @queue = @client.task_queues.create(
    #   friendly_name: "Sales",
    #   # The Activity to assign workers when a task is reserved for them
    #   reservation_activity_sid: "WA11111111111",
    #   # The Activity to assign workers when a task is assigned to them
    #   assignment_activity_sid: "WA222222222222",
    # )
    queue = client.task_queues.create(
        friendly_name="Sales",
        # The Activity to assign workers when a task is reserved for them
        reservation_activity_sid=reserved_activity,
        # The Activity to assign workers when a task is assigned to them
        assignment_activity_sid=assigned_activity,
    )
    guide.sales = queue.sid
    return queue


def guide_workflow(api: Api, guide: Guide) -> Any:
    """Ruby guide, "Workflows". CONFIG's Gold target is the guide's "Sales" queue, its default
    filter the "FIFO TaskQueue" the workspace's template set up."""
    client = api.workspace(guide.workspace)
    (template_queue,) = [q for q in client.task_queues.list() if q.sid != guide.sales]
    guide.sample_queue = template_queue.sid
    config = guide_config(gold_queue_sid=guide.sales, default_queue_sid=guide.sample_queue)
    # @workspace = @client.workflows.create(
    #   friendly_name: "Incoming Call Flow",
    #   assignment_callback_url: "https://example.com/callback",
    #   fallback_assignment_callback_url: "https://example.com/callback2",
    #   configuration: CONFIG
    # )
    workflow = client.workflows.create(
        friendly_name="Incoming Call Flow",
        assignment_callback_url="https://example.com/callback",
        fallback_assignment_callback_url="https://example.com/callback2",
        configuration=config,
    )
    guide.workflow = workflow.sid
    return workflow


def guide_up_to_workflow(api: Api, receiver: Receiver) -> Guide:
    """Examples 1 to 5, then the workflow's callbacks pointed at the local receiver, so no
    task routed later makes the sandbox call example.com (real HTTP stays on 127.0.0.1)."""
    guide = Guide()
    guide_workspace(api, guide)
    guide_activity(api, guide)
    guide_worker(api, guide)
    guide_task_queue(api, guide)
    guide_workflow(api, guide)
    api.update(
        guide.workspace,
        "workflows",
        guide.workflow,
        assignment_callback_url=receiver.url("/guide/assignment"),
        fallback_assignment_callback_url=receiver.url("/guide/fallback"),
    )
    return guide


def test_ruby_guide_creating_a_workspace(api: Api) -> None:
    """Ruby guide, "Creating a Workspace": template FIFO, then ``puts @workspace.sid``."""
    guide = Guide()
    workspace = guide_workspace(api, guide)

    assert workspace.sid.startswith("WS") and len(workspace.sid) == 34  # puts @workspace.sid
    fetched = api.fetch_workspace(workspace.sid)
    assert fetched["friendly_name"] == "Customer Support"
    # "Sets up default activities and a FIFO TaskQueue"
    client = api.workspace(workspace.sid)
    assert list(client.activities.list())
    assert len(list(client.task_queues.list())) == 1


def test_ruby_guide_workflows(api: Api) -> None:
    """Ruby guide, "Workflows": the guide's CONFIG (legacy ``task_queue_sid``, string
    ``"priority":"2"``), callback URLs as printed."""
    guide = Guide()
    guide_workspace(api, guide)
    guide_activity(api, guide)
    guide_task_queue(api, guide)
    workflow = guide_workflow(api, guide)

    assert workflow.sid.startswith("WW")  # puts @workspace.sid (the guide's variable name)
    fetched = api.fetch(guide.workspace, "workflows", workflow.sid)
    assert fetched["friendly_name"] == "Incoming Call Flow"
    assert fetched["assignment_callback_url"] == "https://example.com/callback"
    assert fetched["fallback_assignment_callback_url"] == "https://example.com/callback2"
    configuration = fetched["configuration"]
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    assert guide.sales in text and guide.sample_queue in text
    assert "customer_value == 'Gold' AND type == 'ticket'" in text


def test_ruby_guide_activities(api: Api) -> None:
    """Ruby guide, "Activities": "Coffee Break", ``available: false``."""
    guide = Guide()
    guide_workspace(api, guide)
    activity = guide_activity(api, guide)

    assert activity.sid.startswith("WA")  # puts @activity.sid
    fetched = api.fetch(guide.workspace, "activities", activity.sid)
    assert (fetched["friendly_name"], fetched["available"]) == ("Coffee Break", False)


def test_ruby_guide_workers(api: Api) -> None:
    """Ruby guide, "Workers": "Jamie" with attributes given as a JSON string."""
    guide = Guide()
    guide_workspace(api, guide)
    worker = guide_worker(api, guide)

    assert worker.sid.startswith("WK")  # puts @worker.sid
    fetched = api.fetch(guide.workspace, "workers", worker.sid)
    assert fetched["friendly_name"] == "Jamie"
    assert json.loads(fetched["attributes"]) == json.loads(GUIDE_WORKER_ATTRIBUTES)


def test_ruby_guide_task_queues(api: Api) -> None:
    """Ruby guide, "TaskQueues": "Sales" with reservation and assignment activity SIDs."""
    guide = Guide()
    guide_workspace(api, guide)
    guide_activity(api, guide)
    queue = guide_task_queue(api, guide)

    assert queue.sid.startswith("WQ")  # puts @queue.sid
    fetched = api.fetch(guide.workspace, "task_queues", queue.sid)
    activities = {a.friendly_name: a.sid for a in api.workspace(guide.workspace).activities.list()}
    assert fetched["friendly_name"] == "Sales"
    assert fetched["reservation_activity_sid"] == activities["Unavailable"]
    assert fetched["assignment_activity_sid"] == guide.coffee_break


def test_ruby_guide_tasks(api: Api, receiver: Receiver) -> None:
    """Ruby guide, "Tasks": TASK_ATTRIBUTES and ``assignment_status: 'pending'``, no workflow.

    The guide's ``@client.create(...)`` passes no WorkflowSid: TaskRouter takes the workspace's
    only workflow then. The FIFO template of example 1 added its own workflow ("Default Fifo
    Workflow") beside the guide's "Incoming Call Flow", and with two workflows a WorkflowSid
    is required, so the template's workflow is deleted first: the guide's is then the only one.
    """
    guide = guide_up_to_workflow(api, receiver)
    client = api.workspace(guide.workspace)
    for workflow in list(client.workflows.list()):
        if workflow.sid != guide.workflow:
            api.delete(guide.workspace, "workflows", workflow.sid)
    assert [w.sid for w in client.workflows.list()] == [guide.workflow]

    # @task = @client.create(
    #   attributes: TASK_ATTRIBUTES,
    #   assignment_status: 'pending',
    # )
    # Neither client's tasks.create takes assignment_status (today's CreateTask has no such
    # parameter: our client refuses unknown keywords, Twilio's signature has no such
    # argument), so both send the guide's form fields as they are, with the client's own
    # raw request: TaskRouterClient.transport.request / twilio Client.request.
    task = api.post_json(
        f"/v1/Workspaces/{guide.workspace}/Tasks",
        data={"Attributes": GUIDE_TASK_ATTRIBUTES, "AssignmentStatus": "pending"},
    )

    assert task["sid"].startswith("WT")  # puts @task.sid
    fetched = api.fetch(guide.workspace, "tasks", task["sid"])
    assert json.loads(fetched["attributes"]) == json.loads(GUIDE_TASK_ATTRIBUTES)
    assert fetched["assignment_status"] == "pending"  # Jamie is not available
    assert fetched["workflow_sid"] == guide.workflow
    # "customer-value": "gold" and "type": "call" do not match the Gold filter: default filter.
    assert fetched["task_queue_sid"] == guide.sample_queue
    assert api.drain()


def test_ruby_guide_gold_ticket_routes_through_the_guides_filter(
    api: Api, receiver: Receiver
) -> None:
    """Ruby guide, "Workflows": a Gold ticket takes the guide's "Gold Tickets" filter.

    An available worker in the Gold queue ("Sales", the filter's target), a task with
    ``{"customer_value": "Gold", "type": "ticket"}``: it lands in the Gold queue with the
    target's priority 2 (an integer in the JSON, though the guide wrote ``"2"``) and is
    reserved for that worker; a task that is not gold goes to the default filter's queue.
    """
    guide = guide_up_to_workflow(api, receiver)
    client = api.workspace(guide.workspace)
    activities = {a.friendly_name: a.sid for a in client.activities.list()}
    gold_agent = client.workers.create(
        friendly_name="Gold agent",
        activity_sid=activities["Available"],
        attributes='{"languages": ["EN"]}',
    )
    assert gold_agent.sid in {w.sid for w in client.workers.list(task_queue_sid=guide.sales)}
    assert {w.sid for w in client.workers.list(available="true")} == {gold_agent.sid}

    # two workflows (the template's and the guide's): this routing step names the guide's
    gold = client.tasks.create(
        attributes=json.dumps({"customer_value": "Gold", "type": "ticket"}),
        workflow_sid=guide.workflow,
    )
    assert api.drain()

    fetched = api.fetch(guide.workspace, "tasks", gold.sid)
    assert fetched["task_queue_sid"] == guide.sales
    assert fetched["priority"] == 2 and type(fetched["priority"]) is int
    assert fetched["assignment_status"] == "reserved"
    (reservation,) = api.task_reservations(guide.workspace, gold.sid)
    assert reservation["worker_sid"] == gold_agent.sid
    assert reservation["reservation_status"] == "pending"

    plain = client.tasks.create(
        attributes=json.dumps({"customer_value": "Silver", "type": "ticket"}),
        workflow_sid=guide.workflow,
    )
    assert api.fetch(guide.workspace, "tasks", plain.sid)["task_queue_sid"] == guide.sample_queue
    assert api.drain()


# =============================================================================================
# twilio-php-taskrouter-api.txt
# =============================================================================================


def _truthy(value: str) -> bool:
    """The reference's rule (Worker ``available``): 'true', '1' or 'yes' is true; all other
    values are false."""
    return value in ("true", "1", "yes")


@pytest.mark.parametrize("template", ["NONE", "FIFO"])
def test_php_workspaces_create(api: Api, receiver: Receiver, template: str) -> None:
    """PHP reference, "Workspaces": create($friendlyName, {EventCallbackUrl, Template}).

    "NONE" creates a workspace with a set of default activities and nothing else; "FIFO" a set
    of default activities and a single task queue. With EventCallbackUrl, "the Workspace will
    publish events to this URL".
    """
    events_url = receiver.url(f"/php/{api.name}/{template}/events")
    workspace = api.workspaces.create(
        friendly_name=f"PHP {template}", event_callback_url=events_url, template=template
    )

    fetched = api.fetch_workspace(workspace.sid)
    assert fetched["friendly_name"] == f"PHP {template}"
    assert fetched["event_callback_url"] == events_url
    client = api.workspace(workspace.sid)
    assert list(client.activities.list())
    queues = list(client.task_queues.list())
    workflows = list(client.workflows.list())
    if template == "NONE":
        assert (queues, workflows) == ([], [])
    else:
        assert len(queues) == 1
        assert len(workflows) == 1  # "pre-configure this Workspace with the Workflow ..."

    client.workers.create(friendly_name="Announced")
    assert api.drain()
    assert f"/php/{api.name}/{template}/events" in receiver.paths()


def _workspace(api: Api, name: str) -> tuple[str, Any, dict[str, str]]:
    """A workspace without template, its client and its activities by name."""
    sid = api.workspaces.create(friendly_name=name).sid
    client = api.workspace(sid)
    return sid, client, {a.friendly_name: a.sid for a in client.activities.list()}


def test_php_workflows_create(api: Api, receiver: Receiver) -> None:
    """PHP reference, "Workflows": create($friendlyName, $configuration,
    $assignmentCallbackUrl, {FallbackAssignmentCallbackUrl, TaskReservationTimeout})."""
    ws, client, _ = _workspace(api, "PHP workflows")
    queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    configuration = json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}})

    workflow = client.workflows.create(
        friendly_name="Support",
        configuration=configuration,
        assignment_callback_url=receiver.url("/php/assignment"),
        fallback_assignment_callback_url=receiver.url("/php/fallback"),
        task_reservation_timeout=45,
    )

    fetched = api.fetch(ws, "workflows", workflow.sid)
    assert fetched["friendly_name"] == "Support"
    assert fetched["assignment_callback_url"] == receiver.url("/php/assignment")
    assert fetched["fallback_assignment_callback_url"] == receiver.url("/php/fallback")
    assert fetched["task_reservation_timeout"] == 45


def test_php_workers_create(api: Api) -> None:
    """PHP reference, "Workers": create($friendlyName, {ActivitySid, Attributes})."""
    ws, client, activities = _workspace(api, "PHP workers")

    worker = client.workers.create(
        friendly_name="Alice",
        activity_sid=activities["Available"],
        attributes='{"skills": ["support"], "tier": "gold"}',
    )

    fetched = api.fetch(ws, "workers", worker.sid)
    assert fetched["friendly_name"] == "Alice"
    assert (fetched["activity_sid"], fetched["activity_name"]) == (
        activities["Available"],
        "Available",
    )
    assert fetched["available"] is True
    assert json.loads(fetched["attributes"]) == {"skills": ["support"], "tier": "gold"}


def test_php_task_queues_create(api: Api) -> None:
    """PHP reference, "TaskQueues": create($friendlyName, $assignmentActivitySid,
    $reservationActivitySid, {TargetWorkers, MaxReservedWorkers}); MaxReservedWorkers
    "default = 1, max = 50".

    The reference's defaults of the two activities ('Busy', 'Reserved') are those of old
    workspaces; today a queue without them has none, so they are not asserted.
    """
    ws, client, _ = _workspace(api, "PHP queues")
    busy = client.activities.create(friendly_name="Busy", available="false").sid
    reserved = client.activities.create(friendly_name="Reserved", available="false").sid

    queue = client.task_queues.create(
        friendly_name="Support",
        assignment_activity_sid=busy,
        reservation_activity_sid=reserved,
        target_workers="'support' IN skills",
        max_reserved_workers=50,
    )

    fetched = api.fetch(ws, "task_queues", queue.sid)
    assert fetched["friendly_name"] == "Support"
    assert fetched["assignment_activity_sid"] == busy
    assert fetched["reservation_activity_sid"] == reserved
    assert fetched["target_workers"] == "'support' IN skills"
    assert fetched["max_reserved_workers"] == 50
    plain = client.task_queues.create(friendly_name="Plain")
    assert api.fetch(ws, "task_queues", plain.sid)["max_reserved_workers"] == 1
    with pytest.raises(api.error):
        client.task_queues.create(friendly_name="Too many", max_reserved_workers=51)


def test_php_tasks_create(api: Api, receiver: Receiver) -> None:
    """PHP reference, "Tasks": create($attributes, $workflowSid, {Timeout, Priority});
    Timeout's "default = 24 hours"."""
    ws, client, _ = _workspace(api, "PHP tasks")
    queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    workflow = client.workflows.create(
        friendly_name="Support",
        configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}}),
        assignment_callback_url=receiver.url("/php/tasks/assignment"),
        task_reservation_timeout=120,
    )

    task = client.tasks.create(
        attributes='{"type": "ticket"}', workflow_sid=workflow.sid, timeout=3600, priority=10
    )

    fetched = api.fetch(ws, "tasks", task.sid)
    assert json.loads(fetched["attributes"]) == {"type": "ticket"}
    assert fetched["workflow_sid"] == workflow.sid
    assert (fetched["timeout"], fetched["priority"]) == (3600, 10)
    default = client.tasks.create(attributes='{"type": "ticket"}', workflow_sid=workflow.sid)
    assert api.fetch(ws, "tasks", default.sid)["timeout"] == 24 * 60 * 60
    assert api.drain()


@pytest.mark.parametrize("available", ["false", "true", "1", "yes", "0"])
def test_php_activities_create(api: Api, available: str) -> None:
    """PHP reference, "Activities": create($friendlyName, $available), ``$available`` a string.

    Read by the reference's rule for booleans ('true', '1' or 'yes' is true; all other values
    false), which it states under the worker list's ``available``.
    """
    ws, client, _ = _workspace(api, f"PHP activity {available}")

    activity = client.activities.create(friendly_name=f"Break {available}", available=available)

    fetched = api.fetch(ws, "activities", activity.sid)
    assert fetched["friendly_name"] == f"Break {available}"
    assert fetched["available"] is _truthy(available)


# -- the worker list's filters -----------------------------------------------------------------


@dataclass
class Staff:
    ws: str
    client: Any
    activities: dict[str, str]
    support: str
    sales: str


def _staff(api: Api) -> Staff:
    """alice (support, Available), bob (sales, Offline), carol (support and sales,
    Unavailable); the queues "Support" and "Sales" select by skill."""
    ws, client, activities = _workspace(api, "PHP worker filters")
    support = client.task_queues.create(
        friendly_name="Support", target_workers="'support' IN skills"
    ).sid
    sales = client.task_queues.create(friendly_name="Sales", target_workers="'sales' IN skills").sid
    for name, skills, activity in (
        ("alice", ["support"], "Available"),
        ("bob", ["sales"], "Offline"),
        ("carol", ["support", "sales"], "Unavailable"),
    ):
        client.workers.create(
            friendly_name=name,
            activity_sid=activities[activity],
            attributes=json.dumps({"skills": skills}),
        )
    return Staff(ws, client, activities, support, sales)


def test_php_worker_list_filters(api: Api) -> None:
    """PHP reference, "Worker": FriendlyName, TaskQueueSid, TaskQueueName, ActivitySid,
    ActivityName and TargetWorkersExpression (``available`` has its own test below)."""
    staff = _staff(api)
    workers = staff.client.workers

    assert api.names(workers.list(friendly_name="alice")) == {"alice"}
    assert api.names(workers.list(task_queue_sid=staff.support)) == {"alice", "carol"}
    assert api.names(workers.list(task_queue_name="Sales")) == {"bob", "carol"}
    assert api.names(workers.list(activity_sid=staff.activities["Offline"])) == {"bob"}
    assert api.names(workers.list(activity_name="Unavailable")) == {"carol"}
    assert api.names(workers.list(target_workers_expression="'sales' IN skills")) == {
        "bob",
        "carol",
    }


@pytest.mark.parametrize("value", ["true", "1", "yes", "false", "0", "no", "anything"])
def test_php_worker_list_filter_available(api: Api, value: str) -> None:
    """PHP reference, "Worker", ``available``: "This can be 'true', '1' or 'yes' to indicate a
    true value. All other values will represent false"."""
    staff = _staff(api)

    listed = api.names(staff.client.workers.list(available=value))

    assert listed == ({"alice"} if _truthy(value) else {"bob", "carol"})


# -- instance resources, events, reservations, statistics ----------------------------------------


@dataclass
class World:
    ws: str
    activity: str
    queue: str
    workflow: str
    worker: str
    accepted_task: str
    second_task: str
    canceled_task: str


def _world(api: Api, receiver: Receiver) -> World:
    """A workspace that has done some work: one task accepted, a second one, one canceled."""
    ws = api.workspaces.create(
        friendly_name="PHP instances", event_callback_url=receiver.url("/php/world/events")
    ).sid
    client = api.workspace(ws)
    activities = {a.friendly_name: a.sid for a in client.activities.list()}
    activity = client.activities.create(friendly_name="Lunch", available="false").sid
    queue = client.task_queues.create(
        friendly_name="Everyone", target_workers="1==1", max_reserved_workers=1
    ).sid
    workflow = client.workflows.create(
        friendly_name="Support",
        configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue}}}),
        assignment_callback_url=receiver.url("/php/world/assignment"),
        fallback_assignment_callback_url=receiver.url("/php/world/fallback"),
        task_reservation_timeout=120,
    )
    worker = client.workers.create(
        friendly_name="Alice", activity_sid=activities["Available"], attributes='{"a": 1}'
    ).sid
    accepted = client.tasks.create(
        attributes='{"n": 1}', workflow_sid=workflow.sid, timeout=3600, priority=5
    ).sid
    assert api.drain()
    (reservation,) = api.task_reservations(ws, accepted)
    api.accept(ws, accepted, reservation["sid"])
    second = client.tasks.create(attributes='{"n": 2}', workflow_sid=workflow.sid).sid
    canceled = client.tasks.create(attributes='{"n": 3}', workflow_sid=workflow.sid).sid
    api.update(ws, "tasks", canceled, assignment_status="canceled", reason="no longer needed")
    assert api.drain()
    return World(ws, activity, queue, workflow.sid, worker, accepted, second, canceled)


def _missing(document: dict[str, Any], listed: list[str]) -> list[str]:
    return [name for name in listed if name not in document]


def test_php_instance_resources(api: Api, receiver: Receiver) -> None:
    """PHP reference, "Instance Resources": every attribute it lists for each resource is in
    the resource's JSON (fetched through the client)."""
    world = _world(api, receiver)

    workspace = api.fetch_workspace(world.ws)
    assert not _missing(
        workspace,
        "sid account_sid friendly_name default_activity_sid default_activity_name"
        " timeout_activity_sid timeout_activity_name event_callback_url date_created"
        " date_updated".split(),
    )
    workflow = api.fetch(world.ws, "workflows", world.workflow)
    assert not _missing(
        workflow,
        "sid account_sid workspace_sid friendly_name assignment_callback_url"
        " fallback_assignment_callback_url configuration task_reservation_timeout date_created"
        " date_updated".split(),
    )
    # The reference's "Worker" lists filters of the worker list rather than attributes:
    # friendly_name, activity_sid, activity_name and available are attributes of a worker
    # too; task_queue_sid, task_queue_name and target_workers_expression exist only as
    # filters (tested in test_php_worker_list_filters).
    worker = api.fetch(world.ws, "workers", world.worker)
    assert not _missing(worker, "friendly_name activity_sid activity_name available".split())
    queue = api.fetch(world.ws, "task_queues", world.queue)
    assert not _missing(
        queue,
        "sid account_sid workspace_sid friendly_name target_workers reservation_activity_sid"
        " assignment_activity_sid max_reserved_workers".split(),
    )
    task_attributes = (
        "sid account_sid workspace_sid workflow_sid attributes age priority task_queue_sid"
        " assignment_status reason date_created date_updated timeout".split()
    )
    for task_sid in (world.accepted_task, world.second_task, world.canceled_task):
        task = api.fetch(world.ws, "tasks", task_sid)
        assert not _missing(task, task_attributes), task_sid
    canceled = api.fetch(world.ws, "tasks", world.canceled_task)
    assert (canceled["assignment_status"], canceled["reason"]) == ("canceled", "no longer needed")
    activity = api.fetch(world.ws, "activities", world.activity)
    assert not _missing(
        activity,
        "sid account_sid workspace_sid friendly_name available date_created date_updated".split(),
    )


def test_php_events(api: Api, receiver: Receiver) -> None:
    """PHP reference, "Events" and "Event": event_type, account_sid, description,
    resource_type, resource_sid, event_date, event_data."""
    world = _world(api, receiver)

    events = api.events(world.ws)

    assert events
    listed = "event_type account_sid description resource_type resource_sid event_date event_data"
    for event in events:
        assert not _missing(event, listed.split()), event.get("event_type")
    types = {event["event_type"] for event in events}
    assert {"task.created", "reservation.created", "reservation.accepted"} <= types
    assert "/php/world/events" in receiver.paths()  # EventCallbackUrl got them too


def test_php_reservations(api: Api, receiver: Receiver) -> None:
    """PHP reference, "Reservations" and "Reservation": sid, account_sid, workspace_sid,
    task_sid, worker_sid, worker_name, reservation_status; read from the task and the
    worker."""
    world = _world(api, receiver)
    listed = (
        "sid account_sid workspace_sid task_sid worker_sid worker_name reservation_status".split()
    )

    (of_task,) = api.task_reservations(world.ws, world.accepted_task)
    assert not _missing(of_task, listed)
    assert (of_task["worker_sid"], of_task["worker_name"]) == (world.worker, "Alice")
    assert of_task["reservation_status"] == "accepted"
    of_worker = api.worker_reservations(world.ws, world.worker)
    assert of_task["sid"] in {r["sid"] for r in of_worker}
    for reservation in of_worker:
        assert not _missing(reservation, listed)


_RESERVATIONS = (
    "reservations_created reservations_accepted reservations_rejected reservations_timed_out"
    " reservations_canceled reservations_rescinded".split()
)
#: The fields the PHP reference lists for each statistics resource.
_STATISTICS: dict[str, list[str]] = {
    # "Workspace Statistics"
    "workspace": "longest_task_waiting_sid longest_task_waiting_age total_tasks total_workers"
    " tasks_by_status activity_statistics tasks_created tasks_canceled tasks_deleted tasks_moved"
    " tasks_timed_out_in_workflow avg_task_acceptance_time".split()
    + _RESERVATIONS,
    # "Workflow Statistics"
    "workflow": "longest_task_waiting_sid longest_task_waiting_age total_tasks tasks_by_status"
    " tasks_entered tasks_canceled tasks_deleted tasks_moved tasks_timed_out_in_workflow"
    " avg_task_acceptance_time".split()
    + _RESERVATIONS,
    # "Worker Statistics" (of one worker) and "Workers Statistics" (of all): the reference's
    # ``activity_duration`` does not exist in today's API; its closest current field is
    # ``activity_durations`` (min, avg, max and total per activity), asserted instead.
    "worker": _RESERVATIONS[:5] + ["activity_durations"],
    "workers": _RESERVATIONS[:5] + ["activity_durations"],
    # "TaskQueue Statistics" (of one queue) and "TaskQueues Statistics" (of every queue)
    "task_queue": "longest_task_waiting_sid longest_task_waiting_age total_tasks tasks_by_status"
    " activity_statistics total_eligible_workers total_available_workers tasks_entered"
    " tasks_canceled tasks_deleted tasks_moved avg_task_acceptance_time reservations_accepted"
    " reservations_rejected reservations_timed_out reservations_canceled"
    " reservations_rescinded".split(),
}
_STATISTICS["task_queues"] = _STATISTICS["task_queue"]


@pytest.mark.parametrize("which", list(_STATISTICS))
def test_php_statistics(api: Api, receiver: Receiver, which: str) -> None:
    """PHP reference, "Workspace / Workflow / Worker / Workers / TaskQueue / TaskQueues
    Statistics": every field it lists appears in the statistics JSON (cumulative or realtime
    part)."""
    world = _world(api, receiver)
    sid = {"workflow": world.workflow, "worker": world.worker, "task_queue": world.queue}

    document = api.statistics(world.ws, which, sid.get(which, ""))

    assert not sorted(set(_STATISTICS[which]) - keys_in(document))
    if which == "task_queues":
        queues = document["task_queues_statistics"]
        assert [q["task_queue_sid"] for q in queues] == [world.queue]
