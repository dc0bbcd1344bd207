"""Teams over HTTP, end to end: real Activity JSON to /api/messages, a fake Bot Connector as the serviceUrl."""

from __future__ import annotations

from bot.store import FlowRun, InboundKey, PlatformConversation, RecordsRequest
from tests.fakes.bot_connector import message
from tests.teams_bot import INTAKE, TeamsBot


def test_records_request_in_the_personal_chat_sends_the_intake_card(teams: TeamsBot):
    assert teams.says("records-request") == 201
    card = teams.last_card()
    assert card.card["type"] == "AdaptiveCard" and card.card["version"] == "1.5"
    assert {"client_label", "received_on", "requester_type"} <= set(card.inputs())
    assert card.submits()[0]["data"]["rr_ref"].startswith("run:")
    assert teams.count(FlowRun) == 1 and teams.count(PlatformConversation) == 1


def test_a_good_intake_form_moves_on_and_ticks_the_form_in_place(teams: TeamsBot):
    teams.says("records-request")
    form = teams.last_card()
    assert teams.clicks(form, **INTAKE) == 201
    assert teams.count(RecordsRequest) == 1
    ticked = teams.fake.updates()
    assert ticked and ticked[-1].activity_id == form.answered["id"]
    nxt = teams.last_card()
    assert nxt is not form and "RR-2026-" in nxt.texts


def test_help_is_answered_in_the_turn(teams: TeamsBot):
    teams.says("help")
    assert "records-request" in teams.last_card().texts.lower()
    assert teams.count(InboundKey) == 0


ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}


def test_a_whole_request_from_records_request_to_follow_up_in_teams(teams: TeamsBot):
    teams.says("records-request")
    assert "This is a normal request" in teams.last_card().texts
    card = teams.answers(INTAKE)
    assert "Created RR-2026-0001" in card.texts and teams.step() == "acknowledge"
    teams.answers("sent_today")
    assert teams.step() == "timeframe"
    teams.answers("on_track")
    assert teams.step() == "target"
    teams.answers("2026-03-20")
    assert teams.step() == "review"
    teams.answers(ALL_REVIEW)
    assert teams.step() == "findings"
    teams.answers(NOTHING_FOUND)
    assert teams.step() == "consult"
    teams.answers("none")
    assert teams.step() == "decision"
    teams.answers("release")
    teams.answers({"released_on": "2026-03-02", "method": "portal", "included": "Progress notes", "fee": "6.50"})
    assert teams.step() == "release_letter"
    teams.answers("sent")
    assert "I'll check in on" in teams.last_card().texts  # the follow-up comes with its reminder
    teams.says("resume RR-2026-0001")  # or sooner, when asked for
    assert teams.step() == "follow_up"
    final = teams.answers("moved_on")
    assert "That's everything for RR-2026-0001" in final.texts
    # every answered card was ticked in place, none twice
    ticked = [c.activity_id for c in teams.fake.updates()]
    assert len(ticked) == len(set(ticked)) == 11, ticked


# ---- authentication, members, idempotency ------------------------------------------------------------------------


def test_with_an_app_id_a_request_without_a_valid_token_gets_401_and_records_nothing(tmp_path, monkeypatch):
    from tests.teams_bot import start_teams_bot, stop_teams_bot

    app_id = {"MICROSOFT_APP_ID": "00000000-0000-0000-0000-0000000000aa", "MICROSOFT_APP_PASSWORD": "secret"}
    bot = start_teams_bot(tmp_path, monkeypatch, f"sqlite:///{tmp_path}/auth.db", **app_id)
    try:
        assert not bot.adapter.local_mode
        assert bot.says("records-request") == 401
        assert bot.post(message(bot.fake.url, text="records-request"), token="not-a-jwt") == 401
        assert bot.count(FlowRun) == 0 and bot.count(InboundKey) == 0 and bot.count(PlatformConversation) == 0
        assert bot.fake.calls == []
    finally:
        stop_teams_bot(bot)


def test_someone_outside_the_practice_gets_the_polite_refusal(teams: TeamsBot):
    teams.says("records-request", user="aad-stranger")
    assert "only for members of the practice" in teams.last_card("aad-stranger").texts
    assert teams.count(FlowRun) == 0 and teams.count(PlatformConversation) == 0


def test_a_redelivered_activity_starts_one_request(teams: TeamsBot):
    activity = message(teams.fake.url, text="records-request", activity_id="1700000000001")
    teams.post(activity)
    teams.post(activity)
    assert teams.count(FlowRun) == 1
    assert len(teams.fake.sent("a:dm-aad-clin")) == 1


def test_a_double_click_advances_once_and_a_stale_card_says_already_done(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)
    card = teams.last_card()
    teams.clicks(card)
    assert teams.step() == "timeframe"
    teams.clicks(card)
    assert "already" in teams.last_card().texts.lower()
    assert [u.activity_id for u in teams.fake.updates()].count(card.answered["id"]) == 1


def test_a_wrong_form_answer_comes_back_on_the_card_with_the_fields_error(teams: TeamsBot):
    teams.says("records-request")
    form = teams.last_card()
    teams.clicks(form, **(INTAKE | {"received_on": "2026-12-31"}))
    assert teams.count(RecordsRequest) == 0
    again = teams.fake.updates()[-1]
    assert again.activity_id == form.answered["id"]
    inputs = again.inputs()
    assert inputs["client_label"]["value"] == "JQ-17" and inputs["received_on"]["value"] == "2026-12-31"
    assert "⚠️" in again.texts


def test_the_mention_is_stripped_in_a_channel_and_an_admin_chooses_the_records_channel(teams: TeamsBot):
    teams.says("records-request channel", user="aad-clin", conversation_type="channel", mention=True)
    assert "Only a practice admin" in teams.fake.sent("19:records@thread.tacv2")[-1].texts
    teams.says("records-request channel", user="aad-admin", conversation_type="channel", mention=True)
    assert "records channel" in teams.fake.sent("19:records@thread.tacv2")[-1].texts
    teams.says("records-request")
    teams.answers(INTAKE)
    posts = teams.fake.sent("19:records@thread.tacv2")
    assert "RR-2026-0001" in posts[-1].texts and "JQ-17" not in str(posts[-1].body)  # no PHI in the channel


def test_with_an_app_id_a_valid_channel_token_is_served(tmp_path, monkeypatch):
    from tests.fakes.bot_tokens import channel_token, trust_local_keys
    from tests.teams_bot import start_teams_bot, stop_teams_bot

    trust_local_keys(monkeypatch)
    app_id = "00000000-0000-0000-0000-0000000000aa"
    bot = start_teams_bot(
        tmp_path, monkeypatch, f"sqlite:///{tmp_path}/auth.db", MICROSOFT_APP_ID=app_id, MICROSOFT_APP_PASSWORD="pw"
    )
    try:
        other_app = channel_token("someone-else", bot.fake.url)
        assert bot.post(message(bot.fake.url, text="records-request"), token=other_app) == 401
        expired = channel_token(app_id, bot.fake.url, lifetime=-600)
        assert bot.post(message(bot.fake.url, text="records-request"), token=expired) == 401
        assert bot.count(FlowRun) == 0
        token = channel_token(app_id, bot.fake.url)
        assert bot.post(message(bot.fake.url, text="records-request"), token=token) == 201
        assert bot.count(FlowRun) == 1
        assert bot.last_card().auth == "Bearer outbound"
    finally:
        stop_teams_bot(bot)


# ---- reaching people ----------------------------------------------------------------------------------------------


def walk_to_the_consult_question(teams: TeamsBot) -> None:
    teams.says("records-request")
    for answer in (INTAKE, "sent_today", "on_track", "2026-03-20", ALL_REVIEW, NOTHING_FOUND, "colleague"):
        teams.answers(answer)
    teams.answers("Sam Supervisor")
    assert teams.step() == "consult_question"


def test_a_colleague_who_never_opened_the_app_is_reported_to_the_asker(teams: TeamsBot):
    walk_to_the_consult_question(teams)
    teams.answers("Could you read the last three notes for clarity?")
    told = "\n".join(c.texts for c in teams.fake.sent("a:dm-aad-clin"))
    assert "could not reach Sam Supervisor on Teams" in told and "not opened the records assistant" in told
    assert teams.fake.sent("a:dm-aad-sup") == []


def test_a_colleague_with_the_app_gets_the_consult_card_and_answers_it(teams: TeamsBot):
    teams.says("hello", user="aad-sup")  # Sam has the app: the bot keeps the address of Sam's chat
    walk_to_the_consult_question(teams)
    teams.answers("Could you read the last three notes for clarity?")
    card = teams.last_card("aad-sup")
    assert "RR-2026-0001" in card.texts and "JQ-17" not in str(card.body)
    teams.clicks(card, "I can help", user="aad-sup")  # a bare button: every answer carries a short note
    assert "note" in teams.last_card("aad-sup").texts.lower()
    teams.clicks(card, "I can help", user="aad-sup", rr_note="Happy to read them this afternoon.")
    assert "can help" in teams.last_card().texts.lower() and "this afternoon" in teams.last_card().texts


def test_a_rate_limited_send_waits_retry_after_and_goes_out(teams: TeamsBot):
    teams.fake.fail_next("send", status=429, retry_after=1)
    teams.says("records-request")
    cards = teams.fake.sent("a:dm-aad-clin")
    assert len(cards) == 1 and "client_label" in cards[0].inputs()
    assert [c.answered for c in teams.fake.calls if c.method == "send"][0] is None  # the first try was refused


def test_installing_the_app_in_a_team_makes_that_channel_the_records_channel(teams: TeamsBot):
    from tests.fakes.bot_connector import installed

    assert teams.post(installed(teams.fake.url)) == 201
    assert "records channel" in teams.fake.sent("19:records@thread.tacv2")[-1].texts
    assert teams.count(PlatformConversation) == 1


def test_a_member_who_adds_the_app_is_greeted_once_and_can_be_reached_from_then_on(teams: TeamsBot):
    from tests.fakes.bot_connector import installed

    assert teams.post(installed(teams.fake.url, user="aad-sup", in_channel=False)) == 201
    assert len(teams.fake.sent("a:dm-aad-sup")) == 1 and "records-request" in teams.last_card("aad-sup").texts
    assert teams.count(PlatformConversation) == 1


def test_records_request_typed_in_a_channel_opens_a_personal_chat_for_the_steps(teams: TeamsBot):
    teams.says("records-request", user="aad-clin", conversation_type="channel", mention=True)
    created = [c for c in teams.fake.calls if c.method == "create"]
    assert len(created) == 1 and created[0].body["members"][0]["aadObjectId"] == "aad-clin"
    chat = created[0].answered["id"]
    assert "client_label" in teams.fake.sent(chat)[-1].inputs()  # the intake form, in the personal chat
    assert teams.fake.sent("19:records@thread.tacv2") == []  # nothing about it in the channel


def test_reminders_reach_the_records_channel_without_phi_and_the_owner_in_their_chat(teams: TeamsBot):
    from datetime import UTC, datetime

    from bot.services.reminders import sweep
    from tests.fakes.bot_connector import installed

    teams.post(installed(teams.fake.url))  # the app added to the team: its channel is the records channel
    teams.says("records-request")
    teams.answers(INTAKE)
    before_channel, before_chat = len(teams.fake.sent("19:records@thread.tacv2")), len(teams.fake.sent("a:dm-aad-clin"))
    report = sweep(
        teams.ctx.engine,
        teams.ctx.practice,
        teams.adapter.conversation.router,
        now=datetime(2026, 4, 2, 15, tzinfo=UTC),
    )
    assert report.sent
    teams.adapter.sender.kick()
    teams.settle()
    channel = teams.fake.sent("19:records@thread.tacv2")[before_channel:]
    chat = teams.fake.sent("a:dm-aad-clin")[before_chat:]
    assert channel and chat
    assert all("RR-2026-0001" in c.texts and "JQ-17" not in str(c.body) for c in channel)


def test_a_colleague_who_removed_the_app_is_reported_to_the_asker(teams: TeamsBot):
    teams.says("hello", user="aad-sup")
    walk_to_the_consult_question(teams)
    teams.fake.fail_next("send", status=403, conversation="a:dm-aad-sup")  # the bot may not write to Sam any more
    teams.answers("Could you read the last three notes for clarity?")
    told = "\n".join(c.texts for c in teams.fake.sent("a:dm-aad-clin"))
    assert "could not reach Sam Supervisor on Teams" in told and "HTTP 403" in told


def test_a_connector_outage_is_retried_and_the_step_arrives(teams: TeamsBot):
    teams.fake.fail_next("send", status=503, times=2)
    teams.says("records-request")
    assert "client_label" in teams.last_card().inputs()


def test_malformed_requests_get_400_or_415_and_change_nothing(teams: TeamsBot):
    import urllib.error
    import urllib.request

    def post(data: bytes, content_type: str = "application/json") -> int:
        request = urllib.request.Request(teams.url, data=data, headers={"Content-Type": content_type}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post(b"not json") == 400
    assert post(b"[1, 2]") == 400
    assert post(b'{"text": "records-request"}') == 400  # no type: not an activity
    assert post(b'{"type": "message", "timestamp": {"not": "a date"}}') == 400
    assert post(b"type=message", "application/x-www-form-urlencoded") == 415
    assert teams.count(FlowRun) == 0 and teams.fake.calls == []
