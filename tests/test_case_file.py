"""The case file in the terminal: no file to send, the export command says where it is written."""

from datetime import date

from tests.conversation_helpers import Person, open_conversation
from tests.test_flow_transcripts import start_request

TODAY = date(2026, 11, 5)


def test_in_the_terminal_casefile_points_to_the_export_command_and_a_colleague_is_refused(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, sam = Person(conversation, "Alex"), Person(conversation, "Sam")
    start_request(alex)
    alex.types("casefile RR-2026-0001")
    alex.sees("records-bot export RR-2026-0001")
    sam.types("casefile RR-2026-0001")
    sam.sees("goes only to its owner, a supervisor or an admin")
    sam.types("casefile RR-2026-0099")
    sam.sees("There is no request RR-2026-0099")
    sam.types("help")
    sam.sees("casefile RR-2026-0042")
