"""Letters and notes: each carries what the law asks for, refuses when it can't, and treats every value as data."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import text
from bot.config import PracticeSettings, PrivacyContact
from bot.domain.letters import (
    ACCESS_TYPES,
    CLIENT_LETTERS,
    DELIVERY_METHODS,
    DENIAL_GROUNDS,
    LANGUAGES,
    PRACTICE_NOTES,
    LetterIncomplete,
    LetterNotAllowed,
    draft_letter,
    request_context,
    required_elements,
)
from bot.store import RecordsRequest

TODAY = date(2026, 3, 3)
REQUEST = {
    "practice_name": "Calm Waters Counseling",
    "client_label": "JD-0412",
    "reference": "RR-2026-0007",
    "today": TODAY,
    "received_on": date(2026, 3, 1),
    "access_type": "copy",
    "scope": {"from": date(2025, 1, 1), "to": date(2025, 12, 31), "note": None},
    "expected_on": date(2026, 3, 20),
    "delivery": "mail",
    "fee_cents": 650,
    "contact_name": "Dr. Ana Ruiz",
    "contact_phone": "555-0100",
}
EXTENSION = {"original_due": date(2026, 3, 31), "new_date": date(2026, 4, 30), "reasons": "Older records are offsite."}
RELEASE = {
    "included": ["Progress notes 2025", "Intake assessment"],
    "released_on": date(2026, 3, 18),
    "withheld": [{"what": "Process notes", "why": "psychotherapy_notes"}],
}
DENIAL = {
    "basis": ["psychotherapy_notes"],
    "privacy_contact_name": "Privacy Officer",
    "privacy_contact_phone": "555-0199",
    "denied": "the separately kept process notes",
    "provided": "your progress notes and intake assessment",
}
DESIGNATED = {"recipient": "Dr. Lee Park", "recipient_role": "psychologist", "jurisdiction": "CA"}
CONTEXT = {**REQUEST, **EXTENSION, **RELEASE, **DENIAL, **DESIGNATED}

# What each letter must visibly contain, per language: (English, Spanish) text.
MUST_SAY = {
    "acknowledgement": [
        ("March 1, 2026", "1 de marzo de 2026"),  # received
        ("a copy of your records", "una copia de su expediente"),  # what was asked for
        ("January 1, 2025 to December 31, 2025", "del 1 de enero de 2025 al 31 de diciembre de 2025"),  # scope
        ("March 20, 2026", "20 de marzo de 2026"),  # expected by
        ("by mail", "por correo postal"),  # delivery
        ("$6.50", "$6.50"),  # fee
        ("Calm Waters Counseling", "Calm Waters Counseling"),
        ("Dr. Ana Ruiz at 555-0100", "Dr. Ana Ruiz al 555-0100"),
    ],
    "extension_notice": [
        ("Older records are offsite.", "Older records are offsite."),  # reasons, as written
        ("April 30, 2026", "30 de abril de 2026"),  # new date
        ("March 31, 2026", "31 de marzo de 2026"),  # original deadline
        ("Dr. Ana Ruiz at 555-0100", "Dr. Ana Ruiz al 555-0100"),
    ],
    "release_cover": [
        ("- Progress notes 2025", "- Progress notes 2025"),
        ("Process notes: these are psychotherapy notes", "Process notes: son notas de psicoterapia"),
        ("by mail, on March 18, 2026", "por correo postal, el 18 de marzo de 2026"),
        ("The fee is $6.50", "El costo es de $6.50"),
        ("Dr. Ana Ruiz at 555-0100", "Dr. Ana Ruiz al 555-0100"),
    ],
    "denial": [
        ("These are psychotherapy notes", "Se trata de notas de psicoterapia"),  # basis
        ("not one the law allows to be reviewed", "no es de los que la ley permite revisar"),
        ("Privacy Officer at 555-0199", "Privacy Officer al 555-0199"),
        ("Office for Civil Rights", "Oficina de Derechos Civiles"),
        ("Secretary of the U.S. Department of Health and Human Services", "Secretario del Departamento de Salud"),
    ],
    "partial_denial": [
        ("your progress notes and intake assessment", "your progress notes and intake assessment"),  # the rest
        ("We are providing what you asked for, except", "Le entregaremos lo que pidió, excepto"),
        ("the separately kept process notes", "the separately kept process notes"),
        ("These are psychotherapy notes", "Se trata de notas de psicoterapia"),
        ("Privacy Officer at 555-0199", "Privacy Officer al 555-0199"),
        ("Office for Civil Rights", "Oficina de Derechos Civiles"),
    ],
    "email_risk_notice": [
        ("some risk that someone else could read it", "cierto riesgo de que otra persona pueda leerlo"),
        ("we will send them that way", "se lo enviaremos de esa forma"),
        ("Dr. Ana Ruiz at 555-0100", "Dr. Ana Ruiz al 555-0100"),
    ],
    "designated_release": [
        ("Dear Dr. Lee Park (psychologist),", "Estimado/a Dr. Lee Park (psychologist):"),
        ("Cal. Health and Safety Code 123115(b)", "Código de Salud y Seguridad de California, 123115(b)"),
        ("- Process notes: these are psychotherapy notes", "- Process notes: son notas de psicoterapia"),
        ("Dr. Ana Ruiz at 555-0100", "Dr. Ana Ruiz al 555-0100"),
    ],
}
GREETING = {"en": "Dear [client's name],", "es": "Estimado/a [nombre del cliente]:"}
INJECTIONS = ["{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}", "{{ ''.__class__.__mro__ }}", "{#", "{% raw %}"]


@pytest.fixture
def practice_folder(tmp_path):
    text.use_practice_templates(tmp_path)
    yield tmp_path
    text.use_practice_templates(None)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", CLIENT_LETTERS)
def test_clinician_drafts_each_client_letter_and_it_carries_every_required_element(kind, language):
    letter = draft_letter(kind, language, **CONTEXT)
    for english, spanish in MUST_SAY[kind]:
        assert (english if language == "en" else spanish) in letter
    assert "Calm Waters Counseling" in letter
    assert "JD-0412" not in letter  # a chart label is not a name: never in a letter
    assert "RR-2026-0007" in letter
    if kind != "designated_release":  # that one goes to the professional the client named
        assert GREETING[language] in letter


@pytest.mark.parametrize("kind", CLIENT_LETTERS + PRACTICE_NOTES)
def test_clinician_asks_for_a_letter_with_nothing_filled_in_and_hears_every_missing_element_in_plain_words(kind):
    with pytest.raises(LetterIncomplete) as refused:
        draft_letter(kind)
    assert refused.value.kind == kind
    assert refused.value.missing == list(required_elements(kind))
    message = str(refused.value)
    assert message.endswith(".") and message.count(". ") == 0
    assert "_" not in message  # every element has plain words, not a key name


def test_denial_without_privacy_phone_is_refused_and_the_message_names_the_phone_number():
    for phone in (None, "", "   "):
        with pytest.raises(LetterIncomplete) as refused:
            draft_letter("denial", **{**CONTEXT, "privacy_contact_phone": phone})
        assert refused.value.missing == ["privacy_contact_phone"]
        assert str(refused.value) == (
            "The denial letter can't be drafted yet: it still needs the privacy contact's phone number."
        )


def test_denial_without_privacy_contact_name_or_basis_is_refused_naming_both():
    context = {k: v for k, v in CONTEXT.items() if k not in ("privacy_contact_name", "basis")}
    with pytest.raises(LetterIncomplete) as refused:
        draft_letter("partial_denial", "es", **context)
    assert refused.value.missing == ["basis", "privacy_contact_name"]
    assert "the basis for the denial and the privacy contact's name or title" in str(refused.value)


@pytest.mark.parametrize("basis", [["psychotherapy_notes"], ["litigation", "confidential_source"], "litigation"])
def test_unreviewable_only_denial_has_no_review_rights_paragraph(basis):
    english = draft_letter("denial", "en", **{**CONTEXT, "basis": basis})
    spanish = draft_letter("denial", "es", **{**CONTEXT, "basis": basis})
    assert "ask for a review" not in english and "did not take part" not in english
    assert "not one the law allows to be reviewed" in english
    assert "pedir una revisión" not in spanish and "no participó" not in spanish
    assert "no es de los que la ley permite revisar" in spanish


@pytest.mark.parametrize("ground", [key for key, reviewable in DENIAL_GROUNDS.items() if reviewable])
def test_reviewable_denial_explains_review_by_an_uninvolved_licensed_professional_and_how_to_ask(ground):
    for kind in ("denial", "partial_denial"):
        english = draft_letter(kind, "en", **{**CONTEXT, "basis": [ground], "reviewable": False})
        assert "**Your right to ask for a review:**" in english
        assert "licensed health care professional chosen by our practice, who did not take part" in english
        assert "To ask for a review, contact our Privacy Officer at 555-0199" in english  # a title reads as one
        assert "not one the law allows to be reviewed" not in english
        spanish = draft_letter(kind, "es", **{**CONTEXT, "basis": [ground]})
        assert "**Su derecho a pedir una revisión:**" in spanish
        assert "que no participó en esta decisión" in spanish


def test_mixed_denial_offers_review_for_the_reviewable_ground_and_says_the_other_is_not_reviewable():
    letter = draft_letter("denial", **{**CONTEXT, "basis": ["psychotherapy_notes", "endanger_life"]})
    assert "review of the part of this decision based on a risk to life or physical safety" in letter
    assert "The part of this decision based on psychotherapy notes is not one the law allows to be reviewed." in letter


def test_denial_grounds_map_to_the_reviewability_the_rule_gives_them():
    assert DENIAL_GROUNDS == {
        "psychotherapy_notes": False,
        "litigation": False,
        "confidential_source": False,
        "endanger_life": True,
        "harm_to_other_person": True,
        "personal_representative_harm": True,
        "minor_holds_right": False,
    }


def test_unknown_denial_ground_is_refused_with_the_accepted_grounds():
    with pytest.raises(ValueError, match="psychotherapy_notes") as refused:
        draft_letter("denial", **{**CONTEXT, "basis": ["client_might_be_upset"]})
    assert '"client_might_be_upset" is not an accepted value for the basis for the denial' in str(refused.value)


def test_extension_notice_is_refused_the_day_after_the_original_deadline():
    with pytest.raises(LetterNotAllowed, match="had to go out by the original deadline, March 31, 2026"):
        draft_letter("extension_notice", **{**CONTEXT, "today": date(2026, 4, 1)})


def test_extension_notice_can_still_be_drafted_on_the_deadline_day():
    letter = draft_letter("extension_notice", **{**CONTEXT, "today": date(2026, 3, 31)})
    assert "April 30, 2026" in letter


def test_second_extension_is_refused_because_only_one_is_allowed():
    with pytest.raises(LetterNotAllowed, match="only one"):
        draft_letter("extension_notice", **{**CONTEXT, "already_extended": True})


@pytest.mark.parametrize("new_date", [date(2026, 3, 31), date(2026, 5, 1)])
def test_extension_new_date_must_fall_within_thirty_days_after_the_original_deadline(new_date):
    with pytest.raises(LetterNotAllowed):
        draft_letter("extension_notice", **{**CONTEXT, "new_date": new_date})


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", CLIENT_LETTERS)
def test_template_syntax_typed_into_any_field_is_printed_literally_and_never_run(kind, language):
    for attempt in INJECTIONS:
        context = {
            **CONTEXT,
            "addressee": attempt,
            "recipient": attempt,
            "practice_name": attempt,
            "contact_name": attempt,
            "reasons": attempt,
            "included": [attempt],
            "denied": attempt,
            "provided": attempt,
            "explanation": attempt,
        }
        letter = draft_letter(kind, language, **context)
        assert attempt in letter
        assert "49" not in letter and "loop" not in letter.replace(attempt, "") and "<class" not in letter


def test_template_syntax_in_a_practice_note_is_printed_literally():
    for attempt in INJECTIONS:
        note = draft_letter("addendum", note_date=date(2026, 2, 1), correction=attempt, author=attempt, today=TODAY)
        assert note.count(attempt) >= 2
        assert "49" not in note


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1).filter(str.strip))
def test_any_addressee_name_appears_exactly_as_typed(label):
    letter = draft_letter("acknowledgement", "es", **{**CONTEXT, "addressee": label})
    assert f"Estimado/a {label}:" in letter


def test_practice_override_of_the_acknowledgement_is_used_instead_of_ours(practice_folder):
    (practice_folder / "letters").mkdir()
    (practice_folder / "letters" / "acknowledgement.en.md.j2").write_text(
        "Our own words for {{ client_label }}, due {{ expected_on|longdate }}.", encoding="utf-8"
    )
    assert draft_letter("acknowledgement", **CONTEXT) == "Our own words for JD-0412, due March 20, 2026."
    assert "Estimado/a [nombre del cliente]:" in draft_letter("acknowledgement", "es", **CONTEXT)  # ours


def test_after_the_override_is_reset_our_acknowledgement_is_back(practice_folder):
    (practice_folder / "letters").mkdir()
    (practice_folder / "letters" / "acknowledgement.en.md.j2").write_text("Override", encoding="utf-8")
    assert draft_letter("acknowledgement", **CONTEXT) == "Override"
    text.use_practice_templates(None)
    assert "Dear [client's name]," in draft_letter("acknowledgement", **CONTEXT)


def test_consult_request_carries_no_phi_even_when_the_request_context_is_passed_whole():
    note = draft_letter(
        "consult_request",
        **CONTEXT,
        due_on=date(2026, 3, 31),
        step="review",
        owner="Ana",
        question="Do process notes kept inside the EHR count as psychotherapy notes?",
        client_name="Jane Doe",
    )
    for phi in ("JD-0412", "Jane Doe", "March 1, 2026", "Progress notes 2025", "555-0100", "Calm Waters"):
        assert phi not in note
    for expected in ("RR-2026-0007", "March 31, 2026", "review", "Ana", "Do process notes kept inside the EHR"):
        assert expected in note


def test_consult_question_that_names_the_client_is_refused():
    with pytest.raises(LetterNotAllowed, match="without the client's label"):
        draft_letter(
            "consult_request",
            reference="RR-2026-0007",
            due_on=date(2026, 3, 31),
            step="review",
            owner="Ana",
            question="Should jd-0412 get the couples notes?",
            client_label="JD-0412",
        )


@pytest.mark.parametrize(
    ("today", "says"),
    [(date(2026, 3, 26), "5 days left"), (date(2026, 3, 31), "due today"), (date(2026, 4, 3), "3 days overdue")],
)
def test_reminder_shows_reference_due_date_step_owner_and_days_left_without_phi(today, says):
    note = draft_letter(
        "reminder", **{**CONTEXT, "today": today}, due_on=date(2026, 3, 31), step="review", owner="Ana", status="open"
    )
    assert "RR-2026-0007" in note and "March 31, 2026" in note and says in note
    assert "review (open)" in note and "Ana" in note
    assert "JD-0412" not in note and "Calm Waters" not in note


def test_addendum_refers_to_the_original_note_by_date_and_leaves_it_unchanged():
    note = draft_letter(
        "addendum",
        note_date=date(2026, 2, 10),
        correction="The session lasted 50 minutes, not 45.",
        author="Dr. Ana Ruiz, LMFT",
        today=TODAY,
    )
    assert "Addendum to the note dated February 10, 2026" in note
    assert "The signed original note is unchanged" in note
    assert "The session lasted 50 minutes, not 45." in note
    assert "Signed: Dr. Ana Ruiz, LMFT, March 3, 2026" in note


def test_addendum_cannot_be_dated_before_the_note_it_corrects():
    with pytest.raises(LetterNotAllowed):
        draft_letter("addendum", note_date=TODAY, correction="x", author="A", today=date(2026, 1, 1))


def test_unknown_kind_and_language_are_refused_with_the_accepted_values():
    with pytest.raises(ValueError, match="acknowledgement, extension_notice") as refused:
        draft_letter("thank_you_card")
    assert not isinstance(refused.value, LetterIncomplete)
    with pytest.raises(ValueError, match='can\'t be written in "fr"; the accepted languages are en and es'):
        draft_letter("acknowledgement", "fr", **CONTEXT)
    with pytest.raises(ValueError, match="the accepted languages are en"):
        draft_letter("reminder", "es", reference="R", due_on=TODAY, step="s", owner="o")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_access_type_and_delivery_method_has_its_own_words_in_each_language(language):
    def line(letter: str, n: int) -> str:
        return [row for row in letter.splitlines() if row.startswith("**")][n]

    asked = {line(draft_letter("acknowledgement", language, **{**CONTEXT, "access_type": a}), 1) for a in ACCESS_TYPES}
    how = {line(draft_letter("acknowledgement", language, **{**CONTEXT, "delivery": d}), 3) for d in DELIVERY_METHODS}
    assert len(asked) == len(ACCESS_TYPES) and len(how) == len(DELIVERY_METHODS)
    assert not any("_" in row for row in asked | how)


def test_a_delivery_method_the_letters_do_not_know_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match="pickup, mail, portal, encrypted_email or unencrypted_email"):
        draft_letter("acknowledgement", **{**CONTEXT, "delivery": "carrier pigeon"})


def test_a_date_given_as_text_is_refused():
    with pytest.raises(ValueError, match="the date the request was received, please give a date"):
        draft_letter("acknowledgement", **{**CONTEXT, "received_on": "2026-03-01"})


def test_no_fee_says_so():
    assert "**Fee:** There is no fee." in draft_letter("acknowledgement", **{**CONTEXT, "fee_cents": 0})
    unknown = draft_letter("acknowledgement", **{**CONTEXT, "fee_cents": None})  # not estimated yet
    assert "We will tell you the fee before we make your copy." in unknown
    assert "**Costo:** No hay ningún costo." in draft_letter("acknowledgement", "es", **{**CONTEXT, "fee_cents": 0})


def test_withheld_item_without_a_reason_is_refused():
    with pytest.raises(LetterIncomplete):
        draft_letter("release_cover", **{**CONTEXT, "withheld": [{"what": "Process notes", "why": ""}]})


def test_stored_request_and_practice_settings_fill_an_acknowledgement():
    stored = RecordsRequest(
        reference="RR-2026-0042",
        client_label="K.M.",
        received_on=date(2026, 3, 2),
        due_on=date(2026, 4, 1),
        target_on=date(2026, 3, 25),
        delivery="portal",
        fee_estimate_cents=650,
    )
    practice = PracticeSettings(
        name="Calm Waters Counseling", privacy_contact=PrivacyContact(name_or_title="Office Manager", phone="555-0199")
    )
    context = request_context(stored, practice)
    assert context["privacy_contact_phone"] == "555-0199"
    letter = draft_letter("acknowledgement", **context, contact_name="Ana", contact_phone="555-0100", today=TODAY)
    assert "all of your records" in letter
    assert "March 25, 2026" in letter and "through our secure client portal" in letter


def test_inspection_acknowledgement_offers_a_time_to_look_instead_of_a_delivery_method():
    letter = draft_letter("acknowledgement", **{**CONTEXT, "access_type": "inspect", "fee_cents": 0})
    assert "to look at (inspect) your records in person" in letter
    assert "We will get in touch to find a time that suits you." in letter
    assert "**How:**" not in letter and "There is no fee." in letter


def test_short_initials_only_block_a_consult_when_they_appear_as_a_word():
    base = {"reference": "RR-2026-0007", "due_on": date(2026, 3, 31), "step": "review", "owner": "Ana"}
    note = draft_letter("consult_request", **base, question="Are adjusted notes fine?", client_label="JD")
    assert "Are adjusted notes fine?" in note
    with pytest.raises(LetterNotAllowed):
        draft_letter("consult_request", **base, question="Is JD's file complete?", client_label="JD")


def test_a_copy_directed_to_a_third_party_is_described_as_going_to_them():
    ack = draft_letter("acknowledgement", **{**CONTEXT, "third_party": True, "recipient": None})
    assert "we will send it to the person you named" in ack and "signed, written direction" in ack
    es = draft_letter("acknowledgement", "es", **{**CONTEXT, "third_party": True, "recipient": None})
    assert "lo enviaremos a la persona que usted indicó" in es


def test_the_email_warning_for_a_third_party_copy_speaks_of_the_person_named():
    en = draft_letter("email_risk_notice", **{**CONTEXT, "third_party": True, "recipient": None})
    assert "on its way to the person you named" in en
    es = draft_letter("email_risk_notice", "es", **{**CONTEXT, "third_party": True, "recipient": None})
    assert "hasta la persona que usted indicó" in es
