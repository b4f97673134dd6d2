"""Fixtures for the scheduler tests: a demo CRM per test, a webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import shutil
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from checks.config import load_config
from checks.demo import generate_demo


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-template")
    generate_demo(out, contacts=300, seed=1)
    return out


@pytest.fixture
def demo_dir(tmp_path, demo_template):
    out = tmp_path / "crm"
    out.mkdir()
    shutil.copy(demo_template / "crm.db", out / "crm.db")
    shutil.copy(demo_template / "cleancrm.yml", out / "cleancrm.yml")
    return out


@pytest.fixture
def make_cfg(demo_dir):
    """Write the demo config with overrides (schedule, alerts, retry …) and load it."""

    def make(**overrides):
        data = yaml.safe_load((demo_dir / "cleancrm.yml").read_text())
        data.update(overrides)
        (demo_dir / "cleancrm.yml").write_text(yaml.safe_dump(data, sort_keys=False))
        return load_config(demo_dir / "cleancrm.yml")

    return make


class Webhook:
    def __init__(self):
        self.bodies: list[dict] = []
        self.status = 200
        self.event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                code = outer.status
                if code < 300:
                    outer.bodies.append(body)
                    outer.event.set()
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": msg["Subject"],
                              "state": msg["X-CleanCRM-State"], "body": msg.get_payload(decode=True).decode()})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    from tests.support.schedule_standin import free_port

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()
