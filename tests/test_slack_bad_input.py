"""Malformed Slack requests, really signed: each gets a 4xx and one log line, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.store import RecordsRequest
from tests.fakes.slack_api import block_action, event_callback, intake_values, sign, view_submission
from tests.slack_bot import SECRET, Bot, open_intake

TEN_THOUSAND_DIGITS = "1" * 10240


def post(bot: Bot, body: str, **headers: str) -> tuple[int, str]:
    """POST body signed with the app's secret, with some headers changed after signing."""
    request = urllib.request.Request(bot.url, data=body.encode(), headers=sign(SECRET, body) | headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def repack(body: str, **changes: object) -> str:
    """A Slack payload body with some top-level keys changed (None drops the key)."""
    payload = json.loads(dict(parse_qsl(body))["payload"])
    payload = {k: v for k, v in (payload | changes).items() if v is not None}
    return urlencode({"payload": json.dumps(payload)})


def click(**changes: object) -> str:
    return repack(block_action(block_id="run:1:acknowledge:1", action_id="rr:choose:0", value="sent_today"), **changes)


def submit(metadata: str, **changes: object) -> str:
    return repack(view_submission(values=intake_values(), private_metadata=metadata), **changes)


MALFORMED = {
    "a 10,240-digit number in an event": event_callback({"type": "app_home_opened", "user": "U_CLIN"}).replace(
        '"event_time": ', f'"n": {TEN_THOUSAND_DIGITS}, "event_time": '
    ),
    "a 10,240-digit number in a payload": urlencode(
        {"payload": f'{{"type": "block_actions", "n": {TEN_THOUSAND_DIGITS}}}'}
    ),
    "a payload that is not JSON": urlencode({"payload": "{not json"}),
    "a payload that is a JSON array": urlencode({"payload": "[1, 2, 3]"}),
    "private_metadata that is not JSON": submit("not json"),
    "private_metadata that is a list": submit('["run:1:intake:0"]'),
    "private_metadata that is a 10,240-digit number": submit(TEN_THOUSAND_DIGITS),
    "private_metadata whose run id no database holds": submit(json.dumps({"ref": "run:99999999999999999999:intake:0"})),
    "a click without a user": click(user=None),
    "a click whose user is null": click(user={"id": None}),
    "a click without actions": click(actions="nope"),
    "a form submitted by nobody": submit(json.dumps({"ref": "run:1:intake:0"}), user=None),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_signed_request_gets_400_and_one_log_line(bot, caplog, body):
    caplog.set_level(logging.INFO)
    status, _ = post(bot, body)
    bot.settle()
    assert status == 400
    [line] = [r for r in caplog.records if r.name.startswith("records_bot")]
    assert line.levelno == logging.WARNING and "malformed" in line.getMessage() and not line.exc_info
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bot.fake.calls_to("chat.postMessage") == [] and bot.count(RecordsRequest) == 0


def test_a_signed_json_array_body_gets_400(bot, caplog):
    status, _ = post(bot, "[1, 2, 3]", **{"Content-Type": "application/json"})
    assert status == 400 and "malformed" in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize("timestamp", ["soon", "-5", "1e9", TEN_THOUSAND_DIGITS[:200], TEN_THOUSAND_DIGITS])
def test_a_non_numeric_request_timestamp_gets_400_not_a_500(bot, caplog, timestamp):
    caplog.set_level(logging.INFO)
    status, _ = post(bot, click(), **{"X-Slack-Request-Timestamp": timestamp})
    assert status == 400
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]  # over 8190 bytes, aiohttp itself refuses it
    assert "malformed" in line.getMessage() and line.levelno == logging.WARNING and not line.exc_info


def test_a_10240_digit_page_count_typed_in_the_form_is_asked_again(bot, caplog):
    modal = open_intake(bot)
    values = intake_values() | {"pages": {"pages": {"type": "plain_text_input", "value": TEN_THOUSAND_DIGITS}}}
    status, text = post(bot, view_submission(values=values, private_metadata=modal["view"]["private_metadata"]))
    assert status == 200
    response = json.loads(text)
    assert response["response_action"] == "errors" and "is not a number" in response["errors"]["pages"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_well_formed_request_still_goes_through(bot):
    modal = open_intake(bot)
    assert json.loads(modal["view"]["private_metadata"])["ref"].startswith("run:")
