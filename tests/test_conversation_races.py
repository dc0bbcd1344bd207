"""Two deliveries of one answer at the same moment (a double click, a Slack retry) move the run once."""

import threading
from collections import Counter
from datetime import date

from sqlmodel import select

from bot.prompts import Answer
from bot.store import RecordsRequest, session_scope
from tests.conversation_helpers import INTAKE, Person, open_conversation


def test_simultaneous_answers_to_the_same_step_create_one_request(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 11, 5))
    outcomes: list[str] = []
    for attempt in range(10):
        alex = Person(conversation, "Alex")
        alex.types("/records-request")
        ref = alex.question.ref
        barrier = threading.Barrier(2)

        def click(n: int, ref: str = ref, attempt: int = attempt, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            reply = conversation.answer(Answer(ref=ref, value=INTAKE, actor="Alex"), inbound_key=f"{attempt}:{n}")
            outcomes.append("duplicate" if reply.duplicate else "taken")

        threads = [threading.Thread(target=click, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert Counter(outcomes) == {"taken": 10, "duplicate": 10}
    with session_scope(conversation.engine) as session:
        assert len(session.exec(select(RecordsRequest)).all()) == 10
