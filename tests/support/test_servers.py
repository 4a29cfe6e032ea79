"""The test servers themselves: what is sent arrives, the chosen status is answered."""

import json
import smtplib
import socket
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest

from support.servers import free_port, http_server, smtp_server  # noqa: F401  # pylint: disable=unused-import


def test_smtp_server_keeps_messages(smtp_server):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hello"
    message.set_content("body text")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["b@example.com"] and mail.mail_from == "a@example.com"
    assert mail["Subject"] == "hello" and mail.body.strip() == "body text"


def test_http_server_records_and_answers(http_server):
    http_server.statuses["/broken"] = 503
    request = urllib.request.Request(f"{http_server.url}/hook?x=1", data=json.dumps({"a": 1}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{http_server.url}/broken", timeout=10)
    assert caught.value.code == 503
    first, second = http_server.requests
    assert (first.method, first.path, first.json()) == ("POST", "/hook?x=1", {"a": 1})
    assert (second.method, second.path) == ("GET", "/broken")


def test_free_port_is_closed():
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=2).close()
