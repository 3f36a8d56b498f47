"""The operator's session and the agents' signed console links, over HTTP.

Refused: no session, a forged session, a wrong sign-in key; a console link that is
missing, altered, expired, made by another run or for another agent; a token asked
for by a browser that did not open that agent's link. Allowed: the sign-in link, and a
good console link, whose session then gets an SDK token for that agent only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from example_app.access import CONSOLE_SALT
from example_app.consoles import sdk_options
from example_app.dashboard import DashboardState
from example_app.handlers import Handlers, Rules
from example_app.runner import Options, SupportDesk
from taskrouter_flask import Instruction
from taskrouter_flask.access_token import read_worker_token
from taskrouter_flask.testing import make_assignment, make_sid

from .conftest import signed_in, wait_for

OTHER_SECRET = "another run's secret key"

# -- helpers -------------------------------------------------------------------------------


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _link(desk: SupportDesk, worker_sid: str) -> str:
    """The console link the dashboard shows for ``worker_sid`` (from the operator's data)."""
    with signed_in(desk) as operator:
        data = operator.get(desk.local_url + "/api/state", timeout=10).json()
    return desk.local_url + data["consoles"][worker_sid]


def _token_of(link: str) -> str:
    return link.split("?t=", 1)[1]


def _signed(secret: str, worker_sid: str, *, age: int = 0) -> str:
    """A console token made with ``secret``, ``age`` seconds ago."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    serializer = URLSafeTimedSerializer(secret, salt=CONSOLE_SALT, signer=Signer)
    return serializer.dumps({"worker": worker_sid})


def _workers(desk: SupportDesk) -> dict[str, str]:
    provisioned = desk.desk.provisioned
    assert provisioned is not None
    return dict(provisioned.workers)


def _secret(desk: SupportDesk) -> str:
    assert desk.app is not None
    secret = desk.app.config["SECRET_KEY"]
    assert isinstance(secret, str)
    return secret


@pytest.fixture(scope="module")
def desk(live_desk: SupportDesk) -> SupportDesk:
    return live_desk


# -- the operator's session ----------------------------------------------------------------


CONTROLS = [
    ("post", "/api/tasks", {"type": "ticket"}),
    ("post", "/api/traffic", {"paused": True}),
    ("post", "/api/workers/{worker}/activity", {"activity": "Offline"}),
    ("get", "/api/state", None),
    ("get", "/api/stream", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROLS)
def test_the_dashboards_api_without_the_session_is_a_401_naming_what_is_missing(
    desk: SupportDesk, method: str, path: str, body: dict[str, Any] | None
) -> None:
    worker = next(iter(_workers(desk).values()))
    url = desk.local_url + path.format(worker=worker)
    response = requests.request(method, url, json=body, timeout=10)
    assert response.status_code == 401
    error = _error(response)
    assert error["code"] == "sign_in_required"
    assert "sign-in link" in error["message"]
    assert desk.desk.simulator is not None and desk.desk.simulator.paused  # nothing changed


def test_a_session_signed_with_another_key_is_not_the_operators(desk: SupportDesk) -> None:
    app = Flask("forger")
    app.config["SECRET_KEY"] = OTHER_SECRET
    forged = app.session_interface.get_signing_serializer(app)
    assert forged is not None
    cookies = {"support_desk_session": forged.dumps({"operator": True})}
    response = requests.get(desk.local_url + "/api/state", cookies=cookies, timeout=10)
    assert response.status_code == 401 and _error(response)["code"] == "sign_in_required"


def test_the_dashboard_page_without_the_session_says_how_to_sign_in(desk: SupportDesk) -> None:
    response = requests.get(desk.url, timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sign-in link the desk printed" in response.text
    assert 'id="new-task"' not in response.text  # not the dashboard


def test_a_wrong_sign_in_key_is_a_403_and_sets_no_session(desk: SupportDesk) -> None:
    session = requests.Session()
    response = session.get(desk.local_url + "/?key=guess" + "x" * 30, timeout=10)
    assert response.status_code == 403 and "not valid" in response.text
    assert not session.cookies.get("support_desk_session")
    assert session.get(desk.local_url + "/api/state", timeout=10).status_code == 401


def test_the_sign_in_link_sets_a_strict_httponly_session_and_redirects(
    desk: SupportDesk,
) -> None:
    session = requests.Session()
    response = session.get(desk.sign_in_url, timeout=10, allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("support_desk_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = session.get(desk.url, timeout=10)
    assert page.status_code == 200 and 'id="new-task"' in page.text
    state = session.get(desk.local_url + "/api/state", timeout=10)
    assert state.status_code == 200 and len(state.json()["workers"]) == 6


# -- console links ---------------------------------------------------------------------------


def test_a_good_link_opens_the_console_and_its_session_gets_that_agents_token(
    desk: SupportDesk,
) -> None:
    workers = _workers(desk)
    name, sid = next(iter(workers.items()))
    agent = requests.Session()

    page = agent.get(_link(desk, sid), timeout=10)

    assert page.status_code == 200, page.text
    assert f'Agent console · <span id="agent-name">{name}</span>' in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    # The session now opens the page without the link (a reload after the page drops ``t``).
    assert agent.get(f"{desk.local_url}/agents/{sid}", timeout=10).status_code == 200

    answer = agent.post(f"{desk.local_url}/agents/{sid}/token", json={}, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["worker"] == {"sid": sid, "name": name}
    assert desk.sandbox is not None and desk.app is not None
    assert body["sdk"] == desk.sandbox.sdk_servers
    assert body["sdk"]["wsServer"] == desk.sandbox.base_url.replace("http", "ws") + "/v1/wschannels"
    config = desk.app.config
    grant = read_worker_token(
        body["token"],
        api_keys={config["TASKROUTER_API_KEY_SID"]: config["TASKROUTER_API_KEY_SECRET"]},
        account_sid=desk.sandbox.account_sid,
        now=time.time(),
    )
    assert grant.worker_sid == sid and grant.role == "worker" and grant.identity == name
    assert grant.workspace_sid == desk.desk.provisioned.workspace_sid  # type: ignore[union-attr]
    assert sid in desk.desk.at_console()

    # The dashboard shows the agent as taken over, until the console hands them back.
    with signed_in(desk) as operator:
        state = operator.get(desk.local_url + "/api/state", timeout=10).json()
        assert state["at_console"] == [sid]
        released = agent.post(f"{desk.local_url}/agents/{sid}/release", json={}, timeout=10)
        assert released.json() == {"worker": sid, "at_console": False}
        assert operator.get(desk.local_url + "/api/state", timeout=10).json()["at_console"] == []


def test_a_session_gets_no_token_for_an_agent_whose_link_it_did_not_open(
    desk: SupportDesk,
) -> None:
    (_, mine), (_, theirs) = list(_workers(desk).items())[:2]
    agent = requests.Session()
    assert agent.get(_link(desk, mine), timeout=10).status_code == 200

    answer = agent.post(f"{desk.local_url}/agents/{theirs}/token", json={}, timeout=10)

    assert answer.status_code == 403
    error = _error(answer)
    assert error["code"] == "console_not_open" and theirs in error["message"]
    assert theirs not in desk.desk.at_console()
    page = agent.get(f"{desk.local_url}/agents/{theirs}", timeout=10)
    assert page.status_code == 403 and "needs a console link" in page.text


def test_a_link_for_one_agent_does_not_open_anothers_console(desk: SupportDesk) -> None:
    (_, mine), (_, theirs) = list(_workers(desk).items())[:2]
    token = _token_of(_link(desk, mine))
    agent = requests.Session()
    page = agent.get(f"{desk.local_url}/agents/{theirs}?t={token}", timeout=10)
    assert page.status_code == 403 and "for another agent" in page.text
    answer = agent.post(f"{desk.local_url}/agents/{theirs}/token", json={}, timeout=10)
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("tampered", "not valid"),
        ("another_run", "not valid"),
        ("expired", "has expired (links last 1 hour)"),
        ("missing", "needs a console link"),
        ("garbage", "not valid"),
    ],
)
def test_a_bad_link_is_a_403_page_saying_why_and_binds_nothing(
    desk: SupportDesk, make: str, expected: str
) -> None:
    sid = next(iter(_workers(desk).values()))
    good = _token_of(_link(desk, sid))
    token = {
        # The payload altered, the signature kept.
        "tampered": _signed(_secret(desk), make_sid("WK")).split(".", 1)[0]
        + "."
        + good.split(".", 1)[1],
        "another_run": _signed(OTHER_SECRET, sid),
        "expired": _signed(_secret(desk), sid, age=3601),
        "missing": None,
        "garbage": "not-a-token",
    }[make]
    agent = requests.Session()
    url = f"{desk.local_url}/agents/{sid}" + (f"?t={token}" if token is not None else "")

    page = agent.get(url, timeout=10)

    assert page.status_code == 403
    assert page.headers["Content-Type"].startswith("text/html")
    assert expected in page.text
    answer = agent.post(f"{desk.local_url}/agents/{sid}/token", json={}, timeout=10)
    assert answer.status_code == 403 and _error(answer)["code"] == "console_not_open"


def test_a_link_just_within_its_hour_still_opens(desk: SupportDesk) -> None:
    sid = next(iter(_workers(desk).values()))
    token = _signed(_secret(desk), sid, age=3500)
    assert requests.get(f"{desk.local_url}/agents/{sid}?t={token}", timeout=10).status_code == 200


def test_a_good_link_with_a_bound_session_still_refuses_a_bad_token(desk: SupportDesk) -> None:
    sid = next(iter(_workers(desk).values()))
    agent = requests.Session()
    link = _link(desk, sid)
    assert agent.get(link, timeout=10).status_code == 200
    assert agent.get(link + "x", timeout=10).status_code == 403


def test_the_token_endpoint_wants_json_and_the_operator_alone_gets_no_token(
    desk: SupportDesk,
) -> None:
    sid = next(iter(_workers(desk).values()))
    agent = requests.Session()
    assert agent.get(_link(desk, sid), timeout=10).status_code == 200
    form = agent.post(f"{desk.local_url}/agents/{sid}/token", data={"a": "b"}, timeout=10)
    assert form.status_code == 415
    with signed_in(desk) as operator:
        answer = operator.post(f"{desk.local_url}/agents/{sid}/token", json={}, timeout=10)
        assert answer.status_code == 403 and _error(answer)["code"] == "console_not_open"


def test_an_agents_session_is_not_the_operators(desk: SupportDesk) -> None:
    sid = next(iter(_workers(desk).values()))
    agent = requests.Session()
    assert agent.get(_link(desk, sid), timeout=10).status_code == 200
    response = agent.post(desk.local_url + "/api/tasks", json={"type": "ticket"}, timeout=10)
    assert response.status_code == 401


def test_a_link_for_a_worker_the_desk_does_not_have_is_a_404(desk: SupportDesk) -> None:
    stranger = make_sid("WK")
    token = _signed(_secret(desk), stranger)
    page = requests.get(f"{desk.local_url}/agents/{stranger}?t={token}", timeout=10)
    assert page.status_code == 404 and "no agent" in page.text


# -- the person's agent: reservations wait for them -------------------------------------------


def _assignment(worker_sid: str, kind: str, handled: int = 0) -> Any:
    return make_assignment(
        worker_sid=worker_sid,
        task_attributes={"type": kind, "customer_value": "Gold", "ref": "0001"},
        worker_attributes={"handled_today": handled},
    )


@pytest.mark.parametrize("kind", ["ticket", "call", "chat"])
def test_the_handlers_leave_a_console_agents_reservation_pending(kind: str) -> None:
    person, simulated = make_sid("WK"), make_sid("WK")
    handlers = Handlers(
        state=DashboardState(),
        rules=Rules(daily_limit=5, offline_sid=make_sid("WA")),
        consoles=frozenset({person}),
    )
    for handler in (handlers.gold_ticket, handlers.spanish, handlers.everyone):
        assert handler(_assignment(person, kind)) is None
    assert kind == "chat" or handlers.everyone(_assignment(simulated, kind)) is not None
    # The daily limit is the desk's rule for everyone.
    refused = handlers.everyone(_assignment(person, kind, handled=5))
    assert isinstance(refused, Instruction) and refused.to_dict()["instruction"] == "reject"


@pytest.fixture
def quiet_desk() -> Iterator[SupportDesk]:
    """A desk of its own: agents are moved around here."""
    options = Options(port=0, seed=3, agents=3, handle_time=0.3, paused=True, daily_limit=1000)
    with SupportDesk(options, environ={}) as running:
        yield running


def test_a_taken_over_agents_ticket_waits_for_the_person_not_the_simulation(
    quiet_desk: SupportDesk,
) -> None:
    desk = quiet_desk.desk
    workers = _workers(quiet_desk)
    (name, person), *others = list(workers.items())
    client = desk.client
    assert client is not None
    wait_for(
        lambda: all(w.activity_name == "Available" for w in client.workers.list()),
        what="every agent logged in",
    )
    agent = requests.Session()
    assert agent.get(_link(quiet_desk, person), timeout=10).status_code == 200
    assert agent.post(f"{quiet_desk.local_url}/agents/{person}/token", json={}).status_code == 200
    with signed_in(quiet_desk) as operator:
        for _, sid in others:
            url = f"{quiet_desk.local_url}/api/workers/{sid}/activity"
            assert operator.post(url, json={"activity": "Offline"}, timeout=10).ok
        created = operator.post(
            quiet_desk.local_url + "/api/tasks", json={"type": "ticket"}, timeout=10
        ).json()

    def reservation() -> Any:
        found = list(client.tasks.reservations(created["sid"]).list())
        return found[0] if found else None

    reserved = wait_for(reservation, what="a reservation for the person's agent")
    assert reserved.worker_sid == person
    time.sleep(1.5)  # the simulation would have accepted a ticket at once
    assert client.tasks.fetch(created["sid"]).assignment_status == "reserved"
    assert reservation().reservation_status == "pending"
    assert name  # the roster's first agent is the person's


def test_the_sdk_options_are_the_two_servers_or_none() -> None:
    servers = {
        "ebServer": "http://127.0.0.1:1/v1/wschannels",
        "wsServer": "ws://127.0.0.1:1/v1/wschannels",
    }
    assert sdk_options(servers) == servers
    assert sdk_options(None) == {} and sdk_options({}) == {}
    for bad in ({"ebServer": "http://x"}, {**servers, "region": "ie1"}, {**servers, "wsServer": 5}):
        with pytest.raises(ValueError, match="SUPPORT_DESK_SDK_SERVERS"):
            sdk_options(bad)
