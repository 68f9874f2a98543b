#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fakeapi - a fake Kubernetes API server for testing kproxy's apiwatch client.

Standard library only. It serves, from an in-memory state that the test
scripts through a control endpoint:

  GET  /api/v1/services                        LIST and WATCH
  GET  /api/v1/endpoints                       LIST and WATCH
  GET  /api/v1/nodes                           LIST and WATCH
  GET  /apis/discovery.k8s.io/v1/endpointslices LIST and WATCH (404 with --core-only)
  GET  /apis/discovery.k8s.io/v1               discovery document (404 with --core-only)
  POST /api/v1/namespaces/NS/events            checks and stores the Event, answers 201

LIST honours labelSelector (terms "!key", "key", "key=value", "key!=value",
comma-separated), fieldSelector (metadata.name=X, metadata.namespace=X), limit
and continue. The pages of one list come from a snapshot taken at its first
page, so they are consistent; the continue token names that snapshot. Items
carry no kind/apiVersion, as a real server's typed lists.

WATCH (watch=1 or watch=true) needs resourceVersion (or sends ADDED for every
object when it is absent or "0"), answers 200 with a chunked body of one JSON
event per line, replays the history after that resourceVersion, then follows
changes until timeoutSeconds (clean end) or a control command. A
resourceVersion older than the history gives an ERROR event with code 410 (or
HTTP 410 after {"op": "watch_410_http"}).

An Event is checked as a real server does: its metadata.namespace (filled in
when absent) must be the request's (400 otherwise), and its
involvedObject.namespace must be that too, or absent when the Event is in
"default" (422 otherwise).

Usage:
  fakeapi.py [--port N] [--tls-cert F --tls-key F [--client-ca F]] [--core-only]
             [--rv N] [--load FILE]
Prints "PORT <n>" on stdout once it listens on 127.0.0.1 (port 0: any free one).

--rv N starts the resourceVersion at N (default 1) with no history before it:
watches from an older resourceVersion get 410, as from an API server whose
history was compacted. --load FILE holds the objects of FILE (a JSON List, as
kproxy --from-file reads) from the start, put one by one after N. Together
they stand in for an API server that comes back after a crash with a state
changed meanwhile: start it again on the same --port with a higher --rv.

Control API: POST /_control with one JSON command or a list of them; a list is
applied atomically. Answers {"rv": <current resourceVersion>}. Commands:

  {"op": "put", "object": {...}}          create or replace (kind picks the
                                          resource); ADDED or MODIFIED
  {"op": "delete", "kind": K, "namespace": NS, "name": N}   DELETED
  {"op": "close_streams", "clean": false, "resource": R}
                                          end open watches: abruptly (no last
                                          chunk) unless clean; R optional
  {"op": "stall", "resource": R}          open watches go silent (connection
                                          kept open, nothing more is sent)
  {"op": "error_410", "resource": R}      send ERROR 410 (Expired) on open
                                          watches, then end them
  {"op": "raw", "data": S, "resource": R} send the bytes S as they are on
                                          open watches (truncated or invalid
                                          JSON events)
  {"op": "huge", "bytes": N, "resource": R}
                                          send a well-formed ADDED event of
                                          about N bytes on open watches
  {"op": "bookmark", "resource": R}       send a BOOKMARK at the current RV
  {"op": "fail", "status": S, "count": N, "retry_after": SEC, "match": P}
                                          the next N API requests whose path
                                          starts with P (default: any) answer
                                          S with a Status body (and
                                          Retry-After when given)
  {"op": "require_token", "token": T}     requests without "Authorization:
                                          Bearer T" get 401 (null: any)
  {"op": "expire_continue", "count": N}   the next N list requests with a
                                          continue token get 410 Expired
  {"op": "restart", "rv_jump": J}         forget the history and snapshots,
                                          end all watches abruptly, and jump
                                          the resourceVersion by J (1000):
                                          older resourceVersions give 410
  {"op": "watch_410_http", "value": B}    stale watches get HTTP 410 (B true)
                                          or an ERROR event (false)
  {"op": "core_only", "value": B}         hide discovery.k8s.io/v1

GET /_state answers {"rv", "requests": [{"method", "path", "query", "auth",
"user_agent", "accept", "host"}...], "events": [...], "open_streams": N,
"streams": [{"resource", "request": index into requests}...]}. The control
endpoints are exempt from tokens and injected failures. events are the
bodies of the Events accepted, in order.
"""

import argparse
import base64
import http.server
import json
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

RESOURCES = {
    # resource: (kind, apiVersion, list path, namespaced)
    "services": ("Service", "v1", "/api/v1/services", True),
    "endpoints": ("Endpoints", "v1", "/api/v1/endpoints", True),
    "nodes": ("Node", "v1", "/api/v1/nodes", False),
    "endpointslices": (
        "EndpointSlice",
        "discovery.k8s.io/v1",
        "/apis/discovery.k8s.io/v1/endpointslices",
        True,
    ),
}
KIND_TO_RESOURCE = {v[0]: k for k, v in RESOURCES.items()}
PATH_TO_RESOURCE = {v[2]: k for k, v in RESOURCES.items()}
DISCOVERY = "/apis/discovery.k8s.io/v1"


def status_body(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def obj_key(obj):
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def label_match(obj, selector):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term not in labels:
            return False
    return True


def field_match(obj, selector):
    meta = obj.get("metadata") or {}
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        k, _, v = term.partition("=")
        if k == "metadata.name" and meta.get("name") != v:
            return False
        if k == "metadata.namespace" and meta.get("namespace") != v:
            return False
    return True


class Stream:
    """One open watch: what the control commands want sent or done to it."""

    def __init__(self, resource, labels, fields, cursor, request):
        self.resource = resource
        self.request = request  # index of its request in State.requests
        self.labels = labels
        self.fields = fields
        self.cursor = cursor  # index into State.history
        self.inject = []  # raw byte strings to send
        self.end = None  # None, "clean" or "abrupt"
        self.stalled = False

    def matches(self, resource, obj):
        return (
            resource == self.resource
            and label_match(obj, self.labels)
            and field_match(obj, self.fields)
        )

    def event(self, resource, type_, obj, old):
        """The event this watch sees for a change, or None. As the real API
        server does, a MODIFIED that takes an object out of the selector is
        a DELETED (of the new object), one that brings it in an ADDED."""
        now = self.matches(resource, obj)
        if type_ != "MODIFIED" or old is None:
            return type_ if now else None
        before = self.matches(resource, old)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None


class State:
    def __init__(self, core_only, rv=1):
        self.cond = threading.Condition()
        self.rv = rv
        self.min_rv = rv  # watches from an older resourceVersion get 410
        self.objects = {r: {} for r in RESOURCES}
        self.history = []  # (rv, resource, type, object, previous object or None)
        self.snapshots = {}
        self.next_snapshot = 1
        self.streams = set()
        self.requests = []
        self.events = []
        self.fail = None  # dict: status, count, retry_after, match
        self.token = None
        self.expire_continue = 0
        self.watch_410_http = False
        self.core_only = core_only

    # All methods below run with self.cond held.

    def record(self, resource, type_, obj, old=None):
        self.history.append((self.rv, resource, type_, obj, old))
        self.cond.notify_all()

    def put(self, obj):
        kind = obj.get("kind")
        resource = KIND_TO_RESOURCE.get(kind)
        if not resource:
            raise ValueError(f"unknown kind {kind!r}")
        obj = json.loads(json.dumps(obj))
        obj.setdefault("apiVersion", RESOURCES[resource][1])
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        key = obj_key(obj)
        old = self.objects[resource].get(key)
        type_ = "MODIFIED" if old is not None else "ADDED"
        self.objects[resource][key] = obj
        self.record(resource, type_, obj, old)

    def delete(self, kind, namespace, name):
        resource = KIND_TO_RESOURCE[kind]
        key = f"{namespace}/{name}" if namespace else name
        obj = self.objects[resource].pop(key, None)
        if obj is None:
            return
        self.rv += 1
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.record(resource, "DELETED", obj)

    def streams_for(self, cmd):
        r = cmd.get("resource")
        return [s for s in self.streams if r is None or s.resource == r]

    def inject(self, cmd, data):
        for s in self.streams_for(cmd):
            s.inject.append(data)
        self.cond.notify_all()

    def command(self, cmd):
        op = cmd.get("op")
        if op == "put":
            self.put(cmd["object"])
        elif op == "delete":
            self.delete(cmd["kind"], cmd.get("namespace"), cmd["name"])
        elif op == "close_streams":
            for s in self.streams_for(cmd):
                s.end = "clean" if cmd.get("clean") else "abrupt"
        elif op == "stall":
            for s in self.streams_for(cmd):
                s.stalled = True
        elif op == "error_410":
            line = json.dumps(
                {
                    "type": "ERROR",
                    "object": status_body(
                        410, "Expired", "too old resource version: 1 (2)"
                    ),
                }
            )
            for s in self.streams_for(cmd):
                s.inject.append(line.encode() + b"\n")
                s.end = "clean"
        elif op == "raw":
            self.inject(cmd, cmd["data"].encode())
        elif op == "huge":
            pad = "x" * int(cmd["bytes"])
            event = {
                "type": "ADDED",
                "object": {
                    "kind": "Service",
                    "apiVersion": "v1",
                    "metadata": {
                        "name": "huge",
                        "namespace": "default",
                        "resourceVersion": str(self.rv),
                        "annotations": {"pad": pad},
                    },
                },
            }
            self.inject(cmd, json.dumps(event).encode() + b"\n")
        elif op == "bookmark":
            for s in self.streams_for(cmd):
                kind, api, _, _ = RESOURCES[s.resource]
                event = {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": kind,
                        "apiVersion": api,
                        "metadata": {"resourceVersion": str(self.rv)},
                    },
                }
                s.inject.append(json.dumps(event).encode() + b"\n")
        elif op == "fail":
            self.fail = {
                "status": int(cmd["status"]),
                "count": int(cmd.get("count", 1)),
                "retry_after": cmd.get("retry_after"),
                "match": cmd.get("match", "/"),
            }
        elif op == "require_token":
            self.token = cmd.get("token")
        elif op == "expire_continue":
            self.expire_continue = int(cmd.get("count", 1))
        elif op == "restart":
            self.rv += int(cmd.get("rv_jump", 1000))
            self.min_rv = self.rv
            self.history = []
            self.snapshots = {}
            for s in self.streams:
                s.end = "abrupt"
        elif op == "watch_410_http":
            self.watch_410_http = bool(cmd.get("value", True))
        elif op == "core_only":
            self.core_only = bool(cmd.get("value", True))
        else:
            raise ValueError(f"unknown op {op!r}")
        self.cond.notify_all()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi/1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's
        # algorithm holds the body until the client's delayed ACK (40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)

    @property
    def state(self):
        return self.server.state

    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code, reason, message, headers=None):
        self.send_json(code, status_body(code, reason, message), headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # Returns True when the request was answered by an injected failure or a 401.
    def gate(self, url):
        st = self.state
        with st.cond:
            self.req_index = len(st.requests)
            st.requests.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": dict(urllib.parse.parse_qsl(url.query)),
                    "auth": self.headers.get("Authorization"),
                    "user_agent": self.headers.get("User-Agent"),
                    "accept": self.headers.get("Accept"),
                    "host": self.headers.get("Host"),
                }
            )
            fail = st.fail
            if fail and url.path.startswith(fail["match"]) and fail["count"] > 0:
                fail["count"] -= 1
                headers = {}
                if fail["retry_after"] is not None:
                    headers["Retry-After"] = str(fail["retry_after"])
                code = fail["status"]
                self.send_status(code, "Injected", f"injected failure {code}", headers)
                return True
            token = st.token
        if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
            self.send_status(401, "Unauthorized", "Unauthorized")
            return True
        return False

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path == "/_control":
            try:
                cmds = json.loads(body)
                if isinstance(cmds, dict):
                    cmds = [cmds]
                with self.state.cond:
                    for cmd in cmds:
                        self.state.command(cmd)
                    rv = self.state.rv
            except (ValueError, KeyError, TypeError) as e:
                self.send_json(400, {"error": str(e)})
                return
            self.send_json(200, {"rv": rv})
            return
        if self.gate(url):
            return
        parts = url.path.split("/")
        if len(parts) == 6 and parts[1:4] == ["api", "v1", "namespaces"] and parts[5] == "events":
            self.post_event(parts[4], body)
            return
        self.send_status(404, "NotFound", "the server could not find the requested resource")

    def post_event(self, ns, body):
        try:
            event = json.loads(body)
        except ValueError:
            self.send_status(400, "BadRequest", "not JSON")
            return
        if not isinstance(event, dict) or event.get("kind", "Event") != "Event":
            self.send_status(400, "BadRequest", "not an Event")
            return
        meta = event.setdefault("metadata", {})
        if meta.setdefault("namespace", ns) != ns:
            self.send_status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent "
                "on the request",
            )
            return
        involved = (event.get("involvedObject") or {}).get("namespace") or ""
        if involved != ns and not (involved == "" and ns == "default"):
            self.send_status(
                422,
                "Invalid",
                'Event "%s" is invalid: involvedObject.namespace: Invalid value: "%s": '
                "does not match event.namespace" % (meta.get("generateName", ""), involved),
            )
            return
        with self.state.cond:
            self.state.events.append(event)
        self.send_json(201, event)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_state":
            st = self.state
            with st.cond:
                body = {
                    "rv": st.rv,
                    "requests": st.requests,
                    "events": st.events,
                    "open_streams": len(st.streams),
                    "streams": [
                        {"resource": s.resource, "request": s.request} for s in st.streams
                    ],
                }
                self.send_json(200, body)
            return
        if self.gate(url):
            return
        query = dict(urllib.parse.parse_qsl(url.query))
        with self.state.cond:
            core_only = self.state.core_only
        if url.path == DISCOVERY and not core_only:
            self.send_json(
                200,
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": "discovery.k8s.io/v1",
                    "resources": [
                        {
                            "name": "endpointslices",
                            "singularName": "endpointslice",
                            "namespaced": True,
                            "kind": "EndpointSlice",
                            "verbs": ["create", "delete", "get", "list", "watch"],
                        }
                    ],
                },
            )
            return
        resource = PATH_TO_RESOURCE.get(url.path)
        if resource is None or (resource == "endpointslices" and core_only):
            self.send_status(404, "NotFound", "the server could not find the requested resource")
            return
        if query.get("watch") in ("1", "true"):
            self.watch(resource, query)
        else:
            self.list(resource, query)

    def list(self, resource, query):
        st = self.state
        kind, api, _, _ = RESOURCES[resource]
        limit = int(query.get("limit") or 0)
        token = query.get("continue")
        with st.cond:
            if token:
                if st.expire_continue > 0:
                    st.expire_continue -= 1
                    self.send_status(
                        410, "Expired", "The provided continue parameter is too old"
                    )
                    return
                try:
                    t = json.loads(base64.b64decode(token))
                    snap_id, offset = t["snap"], t["offset"]
                except (ValueError, KeyError, TypeError):
                    self.send_status(400, "BadRequest", "invalid continue token")
                    return
                snap = st.snapshots.get(snap_id)
                if snap is None:
                    self.send_status(
                        410, "Expired", "The provided continue parameter is too old"
                    )
                    return
                rv, items = snap
            else:
                labels, fields = query.get("labelSelector"), query.get("fieldSelector")
                items = [
                    st.objects[resource][k]
                    for k in sorted(st.objects[resource])
                    if label_match(st.objects[resource][k], labels)
                    and field_match(st.objects[resource][k], fields)
                ]
                rv, offset, snap_id = st.rv, 0, None
            page = items[offset : offset + limit] if limit > 0 else items[offset:]
            meta = {"resourceVersion": str(rv)}
            end = offset + len(page)
            if end < len(items):
                if snap_id is None:
                    snap_id = st.next_snapshot
                    st.next_snapshot += 1
                    st.snapshots[snap_id] = (rv, items)
                meta["continue"] = base64.b64encode(
                    json.dumps({"snap": snap_id, "offset": end}).encode()
                ).decode()
                meta["remainingItemCount"] = len(items) - end
        out = []
        for obj in page:
            obj = dict(obj)
            obj.pop("kind", None)
            obj.pop("apiVersion", None)
            out.append(obj)
        self.send_json(
            200, {"kind": kind + "List", "apiVersion": api, "metadata": meta, "items": out}
        )

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, resource, query):
        st = self.state
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        rv_text = query.get("resourceVersion") or "0"
        with st.cond:
            try:
                rv = int(rv_text)
            except ValueError:
                self.send_status(400, "BadRequest", f"invalid resourceVersion {rv_text!r}")
                return
            stream = Stream(
                resource,
                query.get("labelSelector"),
                query.get("fieldSelector"),
                0,
                self.req_index,
            )
            first = []
            if rv != 0 and rv < st.min_rv:
                if st.watch_410_http:
                    self.send_status(410, "Expired", f"too old resource version: {rv} ({st.min_rv})")
                    return
                first.append({"type": "ERROR", "object": status_body(
                    410, "Expired", f"too old resource version: {rv} ({st.min_rv})")})
                stream.end = "clean"
            elif rv == 0:
                for k in sorted(st.objects[resource]):
                    obj = st.objects[resource][k]
                    if stream.matches(resource, obj):
                        first.append({"type": "ADDED", "object": obj})
                stream.cursor = len(st.history)
            else:
                stream.cursor = next(
                    (i for i, h in enumerate(st.history) if h[0] > rv), len(st.history)
                )
            st.streams.add(stream)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for event in first:
                self.write_chunk(json.dumps(event).encode() + b"\n")
            self.follow(stream, deadline)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with st.cond:
                st.streams.discard(stream)

    def peer_gone(self):
        # A watch client sends nothing after its request: readable means closed.
        readable, _, _ = select.select([self.connection], [], [], 0)
        if readable:
            self.close_connection = True
        return bool(readable)

    def follow(self, stream, deadline):
        st = self.state
        while True:
            with st.cond:
                if stream.stalled:
                    # A dead peer: nothing more is sent, not even the end.
                    if stream.end == "abrupt":
                        self.close_connection = True
                        return
                    st.cond.wait(0.1)
                    if self.peer_gone():
                        return
                    continue
                out = stream.inject
                stream.inject = []
                if stream.end is None:
                    while stream.cursor < len(st.history):
                        _, res, type_, obj, old = st.history[stream.cursor]
                        stream.cursor += 1
                        seen = stream.event(res, type_, obj, old)
                        if seen:
                            line = json.dumps({"type": seen, "object": obj})
                            out.append(line.encode() + b"\n")
                end = stream.end
                remaining = deadline - time.monotonic()
                if not out and end is None and remaining > 0:
                    st.cond.wait(min(remaining, 0.1))
                    if self.peer_gone():
                        return
                    continue
            for data in out:
                self.write_chunk(data)
            if end == "abrupt":
                self.close_connection = True
                return
            if end == "clean" or remaining <= 0:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                return


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, context):
        self.state = state
        self.context = context
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        # Clients that go away (or refuse our certificate) are part of the
        # tests; anything else is a bug in this file and is printed.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def get_request(self):
        sock, addr = super().get_request()
        if self.context:
            # The handshake runs in the request's thread (Handler.setup), so a
            # slow client cannot hold up accept().
            sock = self.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, addr


def main():
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca", help="require client certificates signed by this CA")
    ap.add_argument("--core-only", action="store_true", help="no discovery.k8s.io/v1")
    ap.add_argument("--rv", type=int, default=1, help="first resourceVersion")
    ap.add_argument("--load", help="JSON List of objects held from the start")
    args = ap.parse_args()

    state = State(args.core_only, args.rv)
    if args.load:
        with open(args.load) as f:
            items = json.load(f).get("items") or []
        with state.cond:
            for obj in items:
                state.put(obj)

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
    server = Server(("127.0.0.1", args.port), state, context)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
