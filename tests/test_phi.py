"""Client details stay out of chat: labels and consult questions are checked however they are written."""

from datetime import date

import pytest
from cryptography.fernet import Fernet

from bot.domain.phi import details_in, looks_identifying, names_label
from tests.conversation_helpers import INTAKE, Person, open_conversation

TODAY = date(2026, 11, 5)
ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}
TO_THE_QUESTION = ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "colleague", "Sam")


def at_the_consult_question(alex: Person, **intake) -> None:
    alex.types("/records-request")
    alex.answers({**INTAKE, **intake})
    for answer in TO_THE_QUESTION:
        alex.answers(answer)
    assert alex.step == "consult_question"


@pytest.mark.parametrize(
    "label",
    ["jane doe", "María José", "Ja\u200bne Do\u200be", "Jane\u2060Doe", "555-867-5309", "(555) 867 5309"],
)
def test_a_label_that_names_the_client_is_refused_however_it_is_cased_accented_or_hidden(tmp_path, label):
    alex = Person(open_conversation(tmp_path, TODAY), "Alex")
    alex.types("/records-request")
    alex.answers({**INTAKE, "client_label": label})
    assert alex.step == "intake" and "could identify the client" in alex.question.error


def test_initials_and_chart_numbers_are_still_fine_as_labels():
    for label in ("AB-17", "JD", "Chart 4411", "Chart 4411223", "MJ-3", "Partner B"):
        assert not looks_identifying(label), label


def test_the_client_label_is_found_in_a_question_through_accents_case_and_invisible_characters():
    assert names_label("Should a\u200bb-17 get the notes?", "AB-17")
    assert names_label("Is JOSÉ-4 ready?", "Jose-4")
    assert names_label("Is j\u200bd ready?", "JD") and not names_label("adjusted notes", "JD")
    assert names_label("Is A.B. 17 ready?", "AB-17") and not names_label("Is AB-170 ready?", "AB-17")
    assert not names_label("Is the annual summary due?", "Ann")  # only the whole word


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("She writes from maria.l@example.org: send it there?", ("email",)),
        ("She asked us to call 555-867-5309 instead", ("phone",)),
        ("Her DOB is 3/14/87: is she still a minor?", ("birth_date",)),
        ("Born March 14, 1987: does a parent still sign?", ("birth_date",)),
        ("Notes from 1987-03-14 onward?", ("birth_date",)),
        ("Mail it to 12 Elm St, Springfield?", ("address",)),
        ("Mail it to 1 elm street?", ("address",)),
        ("Her new place is 44 Ocean Way, may we mail there?", ("address",)),
        ("She moved to PO Box 44, IL 62701: fine to mail?", ("address",)),
        ("Call 555-867-5309 or write to jd@example.org", ("email", "phone")),
    ],
)
def test_a_consult_question_with_client_details_is_refused_saying_what_was_found(tmp_path, question, found):
    alex = Person(open_conversation(tmp_path, TODAY), "Alex")
    at_the_consult_question(alex)
    alex.answers(question)
    assert alex.step == "consult_question"
    words = {"email": "an email address", "phone": "a phone number", "address": "a street address"}
    words["birth_date"] = "a date that looks like a birth date"
    for kind in found:
        assert words[kind] in alex.question.error
    assert "Ask about the situation instead" in alex.question.error


def test_an_ordinary_question_about_the_request_goes_out(tmp_path):
    alex = Person(open_conversation(tmp_path, TODAY), "Alex")
    at_the_consult_question(alex)
    alex.answers(
        "Received 2026-11-02, due 2026-12-02: may 2 sessions of couples notes be withheld under 45 CFR 164.524?"
    )
    assert alex.step == "consult"
    alex.sees("Sam")


def test_with_client_details_in_chat_on_the_clients_own_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RECORDS_BOT_KEY", Fernet.generate_key().decode())
    alex = Person(open_conversation(tmp_path, TODAY, phi_in_chat=True), "Alex")
    at_the_consult_question(alex, client_name="María López", client_email="", client_address="")
    for question in ("Should maria lopez get the process notes?", "Has LOPEZ signed?", "Is Mari\u200ba ready?"):
        alex.answers(question)
        assert alex.step == "consult_question" and "the client's name" in alex.question.error, question
    alex.answers("Should the client get the process notes?")
    assert alex.step == "consult"


def test_the_checks_know_a_request_from_a_person():
    assert details_in("fee 6.50 for 40 pages, 30 days or 15?", today=TODAY) == ()
    assert details_in("2 sessions in the way; 3 visits at St Luke's", today=TODAY) == ()
    assert details_in("el 14 de marzo de 1987", today=TODAY) == ("birth_date",)
    assert details_in("Calle Mayor 12", today=TODAY) == ("address",)
    assert details_in("Is Li ready?", today=TODAY, names=["Li Wu"]) == ()  # a two-letter part alone is no name
    assert details_in("Is li wu ready?", today=TODAY, names=["Li Wu"]) == ("name",)


def test_a_name_sealed_with_another_key_leaves_the_other_checks_working(tmp_path, monkeypatch):
    monkeypatch.setenv("RECORDS_BOT_KEY", Fernet.generate_key().decode())
    alex = Person(open_conversation(tmp_path, TODAY, phi_in_chat=True), "Alex")
    at_the_consult_question(alex, client_name="María López", client_email="", client_address="")
    monkeypatch.setenv("RECORDS_BOT_KEY", Fernet.generate_key().decode())  # the key was changed since
    alex.answers("Write to maria@example.org?")
    assert alex.step == "consult_question" and "an email address" in alex.question.error
    alex.answers("Should the client get the process notes?")
    assert alex.step == "consult"
