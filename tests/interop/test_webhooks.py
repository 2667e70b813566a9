"""Webhooks verified by the `standardwebhooks` reference library, delivery through receiver
outages and a SIGKILLed server, and the NATS JetStream sink read by nats-py."""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from conftest import Server

FAST_RETRIES = "200ms,200ms,300ms,500ms,500ms,1s,1s,1s,1s,1s"


class Receiver:
    """A webhook receiver that verifies every request with standardwebhooks."""

    def __init__(self):
        self.secret = None
        self.events = {}  # webhook-id -> payload
        self.deliveries = 0
        self.bad_signatures = 0
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = receiver.status
                    if status == 200:
                        try:
                            payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                        except Exception:
                            receiver.bad_signatures += 1
                            status = 400
                        else:
                            receiver.deliveries += 1
                            receiver.events[self.headers["webhook-id"]] = payload
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hooks" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.events) >= n:
                    return
            time.sleep(0.05)
        raise AssertionError("only %d of %d events arrived" % (len(self.events), n))


@pytest.fixture()
def hooked():
    env = {"TOLLGATE_WEBHOOK_ALLOW_LOOPBACK": "true", "TOLLGATE_WEBHOOK_RETRY_SCHEDULE": FAST_RETRIES,
           "TOLLGATE_RATE_LIMIT_WRITE": "100000/h", "TOLLGATE_NATS_URL": "nats://127.0.0.1:4222"}
    server = Server(env)
    receiver = Receiver()
    r = server.call("POST", "/v1/webhooks", {"url": receiver.url})
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    yield server, receiver, r.json()["webhook"]["id"]
    server.stop()
    receiver.httpd.shutdown()


def make_changes(server, n):
    ids = []
    for i in range(n):
        r = server.call("POST", "/v1/resource", {"name": "w%d" % i, "type": "widget"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    return ids


def test_every_event_arrives_signed(hooked):
    server, receiver, _ = hooked
    ids = make_changes(server, 10)
    assert server.call("PATCH", "/v1/resource/" + ids[0], {"name": "changed"}).status_code == 200
    assert server.call("DELETE", "/v1/resource/" + ids[1]).status_code == 204
    receiver.wait_for(12)
    assert receiver.bad_signatures == 0
    types = sorted(p["type"] for p in receiver.events.values())
    assert types.count("resource.created") == 10
    assert types.count("resource.updated") == 1 and types.count("resource.deleted") == 1
    created = [p for p in receiver.events.values() if p["type"] == "resource.created"]
    assert {p["data"]["id"] for p in created} == set(ids)


def test_receiver_down_then_back(hooked):
    server, receiver, hook = hooked
    receiver.status = 503
    make_changes(server, 5)
    time.sleep(1.5)
    assert not receiver.events
    receiver.status = 200
    receiver.wait_for(5)
    deliveries = server.call("GET", "/v1/webhooks/%s/deliveries" % hook).json()["items"]
    assert all(d["status"] == "succeeded" for d in deliveries)
    assert any(d["attempts"] > 1 and d["attempt_history"][0]["status_code"] == 503 for d in deliveries)


def test_kill_9_mid_dispatch_loses_nothing(hooked):
    server, receiver, _ = hooked
    receiver.status = 503
    make_changes(server, 20)
    server.kill()
    receiver.status = 200
    server.start()
    # Deliveries leased when the server died are tried again once their lease runs out: three
    # attempt timeouts, 30 s after the claim. Waiting just 30 s raced that expiry.
    receiver.wait_for(20, timeout=50)
    assert receiver.bad_signatures == 0


def test_gone_disables_and_replay_delivers(hooked):
    server, receiver, hook = hooked
    receiver.status = 410
    make_changes(server, 1)
    deadline = time.time() + 10
    while server.call("GET", "/v1/webhooks/" + hook).json()["status"] != "disabled":
        assert time.time() < deadline, "a 410 did not disable the endpoint"
        time.sleep(0.1)
    failed = server.call("GET", "/v1/webhooks/%s/deliveries" % hook).json()["items"][0]
    assert failed["status"] == "failed"
    receiver.status = 200
    r = server.call("POST", "/v1/webhooks/%s/deliveries/%s/replay" % (hook, failed["id"]))
    assert r.status_code == 202
    receiver.wait_for(1)
    assert server.call("GET", "/v1/webhooks/" + hook).json()["status"] == "active"


def test_nats_consumer_receives_every_event(hooked):
    import nats

    server, receiver, _ = hooked
    ids = make_changes(server, 15)
    receiver.wait_for(15)

    async def consume():
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        seen = {}
        sub = await js.subscribe("tollgate.default.resource.created", ordered_consumer=True,
                                 deliver_policy=nats.js.api.DeliverPolicy.ALL)
        deadline = time.time() + 20
        wanted = set(ids)
        while time.time() < deadline and not wanted <= {p["data"]["id"] for p in seen.values()}:
            try:
                msg = await sub.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                continue
            payload = json.loads(msg.data)
            seen.setdefault(msg.headers["Nats-Msg-Id"], payload)
        await nc.close()
        return seen

    seen = asyncio.run(consume())
    mine = {p["data"]["id"] for p in seen.values()} & set(ids)
    assert mine == set(ids)
    # Message ids are the event ids, the same ones the webhooks carried.
    assert set(k for k, p in seen.items() if p["data"]["id"] in ids) <= set(receiver.events)
