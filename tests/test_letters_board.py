"""Letters that hold up before a board: each withheld item with its own ground, state rights beyond HIPAA, the rule's
own extension words, parents of minors, copies directed to someone else, greetings and Markdown (issue 11)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.letters import CLIENT_LETTERS, LetterIncomplete, LetterNotAllowed, draft_letter
from tests.test_letters import CONTEXT

NOTES = {"what": "Separately kept process notes", "ground": "psychotherapy_notes"}
PARTNER = {"what": "What your partner said in joint sessions", "ground": "harm_to_other_person"}
RISK = {"what": "The March 2 risk assessment", "ground": "endanger_life"}


def withheld(*items):
    return [{"what": item["what"], "why": item["ground"]} for item in items]


def paragraphs(letter: str) -> list[str]:
    return [p.strip() for p in letter.split("\n\n") if p.strip()]


def assert_renders_as_markdown(letter: str) -> None:
    """Blank line before every heading line and before the first item of every list; no stray triple newlines."""
    lines = letter.split("\n")
    for i, line in enumerate(lines[1:], start=1):
        before = lines[i - 1]
        heading = line.startswith("**") and line.endswith(":**")
        list_start = line.startswith("- ") and not before.startswith("- ")
        if heading or list_start:
            assert before == "", f"no blank line before {line!r} (after {before!r})"
    assert "\n\n\n" not in letter


# --- Several grounds: each item keeps its own ground, reviewability and words --------------------------------------

SEVERAL = {**CONTEXT, "items": [NOTES, PARTNER], "denied": None}

ITEM_LINES = {
    "en": [
        "- **Separately kept process notes:** These are psychotherapy notes: your therapist's personal notes about "
        "what was discussed in sessions, kept separately from your record. The law does not include these notes in the "
        "right to see or copy your records. The law does not provide a review of this part.",
        "- **What your partner said in joint sessions:** This information refers to another person, and a licensed "
        "health care professional has judged that access to it is reasonably likely to cause substantial harm to that "
        "person. You can ask for this part of the decision to be reviewed.",
    ],
    "es": [
        "- **Separately kept process notes:** Se trata de notas de psicoterapia: apuntes personales de su terapeuta "
        "sobre lo que se habló en las sesiones, que se guardan aparte de su expediente. La ley no incluye estas notas en "
        "el derecho a ver o copiar su expediente. La ley no prevé una revisión de esta parte.",
        "- **What your partner said in joint sessions:** Esta información se refiere a otra persona, y un profesional de "
        "la salud con licencia consideró que es razonablemente probable que el acceso le cause un daño grave a esa "
        "persona. Puede pedir que se revise esta parte de la decisión.",
    ],
}
REVIEW_SPLIT = {
    "en": [
        "You can ask for a review of the part of this decision based on What your partner said in joint sessions (a "
        "risk of substantial harm to another person).",
        "The part of this decision based on Separately kept process notes (psychotherapy notes) is not one the law "
        "allows to be reviewed.",
    ],
    "es": [
        "Puede pedir que se revise la parte de esta decisión que se basa en What your partner said in joint sessions "
        "(un riesgo de daño grave a otra persona).",
        "La parte de esta decisión que se basa en Separately kept process notes (las notas de psicoterapia) no es de "
        "las que la ley permite revisar.",
    ],
}
COVER_LINES = {
    "en": [
        "- Separately kept process notes: these are psychotherapy notes, kept separately from your record; the right to "
        "copies does not include them. The law does not provide a review of this part.",
        "- What your partner said in joint sessions: it is about another person, and a licensed professional judged that "
        "sharing it is reasonably likely to cause that person substantial harm. You can ask for this part of the "
        "decision to be reviewed.",
    ],
    "es": [
        "- Separately kept process notes: son notas de psicoterapia que se guardan aparte de su expediente; el derecho a "
        "recibir copias no las incluye. La ley no prevé una revisión de esta parte.",
        "- What your partner said in joint sessions: se refiere a otra persona, y un profesional con licencia consideró "
        "que compartirla probablemente le causaría un daño grave. Puede pedir que se revise esta parte de la decisión.",
    ],
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_partial_denial_on_two_grounds_gives_each_item_its_own_ground_and_review_rights(language):
    letter = draft_letter("partial_denial", language, **SEVERAL)
    for line in ITEM_LINES[language]:
        assert line in letter.split("\n")
    for sentence in REVIEW_SPLIT[language]:
        assert sentence in letter
    opening = {"en": "except for some parts that we are not able to provide", "es": "excepto algunas partes que"}
    assert opening[language] in letter
    listed = {
        "en": "**What we are not providing:** Separately kept process notes and What your partner said in joint sessions.",
        "es": "**Lo que no le entregamos:** Separately kept process notes y What your partner said in joint sessions.",
    }
    assert listed[language] in paragraphs(letter)
    assert_renders_as_markdown(letter)


@pytest.mark.parametrize("language", ["en", "es"])
def test_release_cover_with_two_grounds_never_calls_the_other_persons_information_psychotherapy_notes(language):
    letter = draft_letter("release_cover", language, **{**CONTEXT, "withheld": withheld(NOTES, PARTNER)})
    lines = letter.split("\n")
    for line in COVER_LINES[language]:
        assert line in lines
    assert sum("psicoterapia" in line or "psychotherapy" in line for line in lines if line.startswith("- ")) == 1
    assert_renders_as_markdown(letter)


# --- State rights beyond HIPAA on a denial for harm to the client --------------------------------------------------

STATE_SECTIONS = {
    "CA": (
        [
            "**Your right under California law:**",
            "You have the right to name a licensed professional (a physician and surgeon, psychologist, marriage and "
            "family therapist, licensed clinical social worker or professional clinical counselor) to inspect these "
            "records or receive copies of them. Tell our Privacy Officer at 555-0199 who that is, and we will make the "
            "records available to them (Cal. Health and Safety Code 123115(b)).",
        ],
        [
            "**Su derecho según la ley de California:**",
            "Tiene derecho a nombrar a un profesional con licencia (médico y cirujano, psicólogo, terapeuta matrimonial y "
            "familiar, trabajador social clínico con licencia o consejero clínico profesional) para que revise este "
            "expediente o reciba copias de él. Díganos quién es, comunicándose con nuestro(a) Privacy Officer al "
            "555-0199, y pondremos el expediente a su disposición (Código de Salud y Seguridad de California, "
            "123115(b)).",
        ],
    ),
    "TX": (
        [
            "**Your rights under Texas law:**",
            "This is our signed and dated written statement of the part of your records we are not providing, why, and "
            "for how long (Tex. Health and Safety Code 611.0045(c)).",
            "- **How long this decision lasts:** six months from today.\n"
            "- **Each new request gets a new decision:** if you ask again, we will decide again (611.0045(d)).\n"
            "- **Another professional you choose:** a professional you select who is treating you for the same or a "
            "related condition may examine and copy these records. Tell our Privacy Officer at 555-0199 who that is "
            "(611.0045(e)).",
            "Signed: ______________________ Date: March 3, 2026",
        ],
        [
            "**Sus derechos según la ley de Texas:**",
            "Esta es nuestra declaración escrita, firmada y fechada, de la parte de su expediente que no le entregamos, "
            "por qué y por cuánto tiempo (Código de Salud y Seguridad de Texas, 611.0045(c)).",
            "- **Cuánto dura esta decisión:** six months from today.\n"
            "- **Cada nueva solicitud recibe una nueva decisión:** si lo vuelve a pedir, volveremos a decidir "
            "(611.0045(d)).\n"
            "- **Otro profesional que usted elija:** un profesional que usted seleccione y que lo atienda por la misma "
            "afección o una relacionada puede examinar y copiar este expediente. Díganos quién es, comunicándose con "
            "nuestro(a) Privacy Officer al 555-0199 (611.0045(e)).",
            "Firma: ______________________ Fecha: 3 de marzo de 2026",
        ],
    ),
    "WA": (
        [
            "**Your right under Washington law:**",
            "Another health care provider you choose, who is licensed to treat the same condition, may examine and copy "
            "these records. Tell our Privacy Officer at 555-0199 who that is, and we will make them available to that "
            "provider (RCW 70.02.090).",
        ],
        [
            "**Su derecho según la ley de Washington:**",
            "Otro proveedor de salud que usted elija, con licencia para tratar la misma afección, puede examinar y copiar "
            "este expediente. Díganos quién es, comunicándose con nuestro(a) Privacy Officer al 555-0199, y lo pondremos "
            "a disposición de ese proveedor (RCW 70.02.090).",
        ],
    ),
    "NJ": (
        [
            "**Your right under New Jersey law:**",
            "If you ask, we will send these records, or a summary of them, together with our reasons, directly to your "
            "attorney, to another licensed health care professional, or to your health insurer. Tell our Privacy "
            "Officer at 555-0199 who should receive them (N.J.A.C. 13:42-8.3(e)).",
        ],
        [
            "**Su derecho según la ley de Nueva Jersey:**",
            "Si lo pide, enviaremos este expediente, o un resumen, junto con nuestros motivos, directamente a su abogado, "
            "a otro profesional de la salud con licencia o a su aseguradora. Díganos quién debe recibirlo, comunicándose "
            "con nuestro(a) Privacy Officer al 555-0199 (N.J.A.C. 13:42-8.3(e)).",
        ],
    ),
}


@pytest.mark.parametrize("kind", ["denial", "partial_denial"])
@pytest.mark.parametrize("state", sorted(STATE_SECTIONS))
def test_denial_for_risk_to_the_client_tells_the_rights_the_state_gives_beyond_hipaa(state, kind):
    context = {**CONTEXT, "basis": ["endanger_life"], "jurisdiction": state, "denial_duration": "six months from today"}
    for language, expected in zip(("en", "es"), STATE_SECTIONS[state], strict=True):
        letter = draft_letter(kind, language, **context)
        found = paragraphs(letter)
        for paragraph in expected:
            assert paragraph in found
        # the state section sits between review rights and the complaint
        assert letter.index(expected[0]) < letter.index("**How to make" if language == "en" else "**Cómo presentar")
        assert_renders_as_markdown(letter)


@pytest.mark.parametrize("state", sorted(STATE_SECTIONS))
def test_no_state_section_when_nothing_is_withheld_for_harm_to_the_client(state):
    letter = draft_letter("denial", **{**CONTEXT, "basis": ["psychotherapy_notes"], "jurisdiction": state})
    assert "law:**" not in letter


def test_texas_denial_is_refused_until_it_says_how_long_the_denial_lasts():
    with pytest.raises(LetterIncomplete) as refused:
        draft_letter("denial", **{**CONTEXT, "basis": ["endanger_life"], "jurisdiction": "TX"})
    assert refused.value.missing == ["denial_duration"]
    assert "how long the denial lasts" in str(refused.value)


@pytest.mark.parametrize("language", ["en", "es"])
def test_release_to_the_professional_the_client_named_is_addressed_to_them_and_cites_the_state_rule(language):
    context = {
        **CONTEXT,
        "recipient": "Dr. Lee Park",
        "recipient_role": "psychologist",
        "jurisdiction": "WA",
        "withheld": withheld(RISK),
    }
    letter = draft_letter("designated_release", language, **context)
    expected = {
        "en": [
            "Dear Dr. Lee Park (psychologist),",
            "Our client has named you to inspect or receive the part of their records that we did not give to them "
            "directly. We are providing it to you as Washington law requires (RCW 70.02.090).",
            "- The March 2 risk assessment: a licensed professional judged that it is reasonably likely to endanger "
            "someone's life or physical safety.",
        ],
        "es": [
            "Estimado/a Dr. Lee Park (psychologist):",
            "Nuestro cliente lo ha nombrado a usted para revisar o recibir la parte de su expediente que no le "
            "entregamos directamente. Se la entregamos a usted porque así lo exige la ley de Washington (RCW 70.02.090).",
            "- The March 2 risk assessment: un profesional con licencia consideró que es razonablemente probable que "
            "ponga en peligro la vida o la seguridad física de alguien.",
        ],
    }
    found = paragraphs(letter)
    for paragraph in expected[language]:
        assert paragraph in found
    assert_renders_as_markdown(letter)


def test_california_refusal_note_for_the_chart_has_the_date_reason_and_specific_consequences():
    note = draft_letter(
        "refusal_note",
        received_on=date(2026, 3, 1),
        ground="endanger_life",
        consequences="Reading the March 2 assessment is likely to precipitate a suicide attempt.",
        author="Dr. Ana Ruiz",
        today=TODAY,
    )
    lines = note.split("\n")
    assert "**Note of refusal to provide records (Cal. Health and Safety Code 123115(b))**" in lines
    assert "- **Date of the request:** March 1, 2026" in lines
    assert any(line.startswith("- **Reason for refusing:** A licensed health care professional") for line in lines)
    assert (
        "- **Specific adverse or detrimental consequences anticipated:** Reading the March 2 assessment is likely to "
        "precipitate a suicide attempt." in lines
    )


# --- Extensions: the rule's own words ------------------------------------------------------------------------------

TODAY = date(2026, 3, 3)
RULE_SENTENCES = {
    "hipaa": (
        "The law allows one extension of up to 30 days, with this written notice of the reasons and the new date, and "
        "this is it: we will not extend it again.",
        "La ley permite una sola prórroga de hasta 30 días, con este aviso por escrito de los motivos y la nueva fecha, y "
        "esta es esa prórroga: no volveremos a extender el plazo.",
    ),
    "wa": (
        "Washington law allows us to take longer only with written reasons and the date we will complete your request, "
        "no later than 21 working days after we received it, and this is that notice: we will not extend it again.",
        "La ley de Washington nos permite tardar más solo con motivos por escrito y la fecha en que completaremos su "
        "solicitud, a más tardar 21 días hábiles después de recibirla, y este es ese aviso: no volveremos a extender el "
        "plazo.",
    ),
    "mt": (
        "Montana law allows us to take up to 21 days from your request, with written reasons, and this is that notice: "
        "we will not extend it again.",
        "La ley de Montana nos permite tardar hasta 21 días desde su solicitud, con motivos por escrito, y este es ese "
        "aviso: no volveremos a extender el plazo.",
    ),
}


@pytest.mark.parametrize("rule", sorted(RULE_SENTENCES))
def test_extension_notice_states_the_rule_that_applies(rule):
    context = {**CONTEXT, "extension_rule": rule, "new_date": date(2026, 4, 10)}
    for language, sentence in zip(("en", "es"), RULE_SENTENCES[rule], strict=True):
        letter = draft_letter("extension_notice", language, **context)
        assert sentence in letter
        others = [s for key, pair in RULE_SENTENCES.items() if key != rule for s in pair]
        assert not any(other in letter for other in others)
        assert_renders_as_markdown(letter)


def test_washington_extension_past_21_working_days_is_refused_with_the_rule_named():
    context = {**CONTEXT, "extension_rule": "wa", "latest": date(2026, 4, 1), "new_date": date(2026, 4, 2)}
    with pytest.raises(LetterNotAllowed, match=r"21 working days after the request, RCW 70.02.080\(1\)"):
        draft_letter("extension_notice", **context)


@pytest.mark.parametrize("language", ["en", "es"])
def test_california_summary_extension_gives_only_the_two_reasons_the_statute_allows(language):
    context = {**CONTEXT, "extension_rule": "ca_summary", "new_date": date(2026, 4, 1)}
    letter = draft_letter("extension_notice", language, **{**context, "reasons": ["extraordinary_length"]})
    reason = {
        "en": "- Your record is of extraordinary length.",
        "es": "- Su expediente es de una extensión extraordinaria.",
    }
    assert reason[language] in letter.split("\n")
    discharge = draft_letter("extension_notice", language, **{**context, "reasons": "recent_discharge"})
    assert ("10 days" if language == "en" else "10 días") in discharge
    with pytest.raises(LetterNotAllowed, match="extraordinary length or a discharge within the last 10 days"):
        draft_letter("extension_notice", language, **{**context, "reasons": "The client is busy."})


# --- Who the letter is to: the person who asked, never the chart label ---------------------------------------------


@pytest.mark.parametrize("kind", [k for k in CLIENT_LETTERS if k != "designated_release"])
def test_a_parents_request_is_answered_to_the_parent_about_their_childs_records(kind):
    context = {**CONTEXT, "requester": "parent_of_minor"}
    english = draft_letter(kind, "en", **context)
    spanish = draft_letter(kind, "es", **context)
    assert "Dear [parent's name]," in english.split("\n")
    assert "Estimado/a [nombre del padre, la madre o el tutor]:" in spanish.split("\n")
    assert "JD-0412" not in english and "JD-0412" not in spanish
    if kind in ("acknowledgement", "extension_notice", "denial", "partial_denial"):
        assert "your child's records" in english
        assert "hijo o hija" in spanish


def test_acknowledgement_for_a_parent_says_your_request_for_your_childs_records():
    letter = draft_letter("acknowledgement", **{**CONTEXT, "requester": "parent_of_minor"})
    assert "Thank you for your request for your child's records." in letter
    assert "**What you asked for:** a copy of your child's records:" in letter


def test_with_a_name_entered_the_letter_greets_the_client_by_name():
    assert "Dear Jordan Diaz," in draft_letter("acknowledgement", **{**CONTEXT, "addressee": "Jordan Diaz"})
    assert "Estimado/a Jordan Diaz:" in draft_letter("denial", "es", **{**CONTEXT, "addressee": "Jordan Diaz"})


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_parent_refused_because_the_minor_holds_the_right_gets_a_letter_on_that_ground_without_review(language):
    context = {**CONTEXT, "requester": "parent_of_minor", "basis": ["minor_holds_right"], "denied": None}
    letter = draft_letter("denial", language, **context)
    expected = {
        "en": "- Your child holds the right to these records: the law lets a minor consent to this care, and a parent "
        "is not the minor's personal representative for it, so the decision to share these records is your child's.",
        "es": "- Su hijo o hija tiene el derecho sobre este expediente: la ley le permite a un menor dar su "
        "consentimiento para esta atención, y para ella el padre o la madre no es su representante personal, así que "
        "la decisión de compartir este expediente le corresponde a su hijo o hija.",
    }
    assert expected[language] in letter.split("\n")
    assert ("**Review:**" if language == "en" else "**Revisión:**") in letter
    assert_renders_as_markdown(letter)


# --- Copies directed to a third party ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_paper_copy_to_an_attorney_needs_a_hipaa_authorization_and_names_the_attorney(language):
    context = {**CONTEXT, "third_party": True, "recipient": "Sam Ortiz, Esq.", "directed_kind": "authorization"}
    ack = draft_letter("acknowledgement", language, **context)
    expected = {
        "en": "**When:** we will send it to Sam Ortiz, Esq., the person you named, by March 20, 2026, once we have your "
        "signed authorization to release them (a HIPAA authorization form, which we can send you).",
        "es": "**Cuándo:** lo enviaremos a Sam Ortiz, Esq., la persona que usted indicó, a más tardar el 20 de marzo de "
        "2026, una vez que tengamos su autorización firmada para entregarlo (un formulario de autorización HIPAA, que "
        "podemos enviarle).",
    }
    assert expected[language] in paragraphs(ack)
    on_file = draft_letter("acknowledgement", language, **context, direction_on_file=True)
    assert expected[language].split(", once")[0].split(", una vez")[0] + "." in paragraphs(on_file)
    cover = draft_letter("release_cover", language, **context)
    sent = {
        "en": "As you directed in writing, we have sent your records to Sam Ortiz, Esq. (your request of March 1, 2026).",
        "es": "Tal como nos lo indicó por escrito, enviamos su expediente a Sam Ortiz, Esq. (su solicitud del 1 de marzo "
        "de 2026).",
    }
    assert sent[language] in cover
    assert_renders_as_markdown(ack)
    assert_renders_as_markdown(cover)


@pytest.mark.parametrize("language", ["en", "es"])
def test_before_the_kind_of_directed_copy_is_known_the_acknowledgement_says_when_an_authorization_is_needed(language):
    ack = draft_letter("acknowledgement", language, **{**CONTEXT, "third_party": True, "recipient": None})
    expected = {
        "en": "**When:** we will send it to the person you named by March 20, 2026, once we have your signed, written "
        "direction naming them and where to send it (if the records are not kept in our electronic health record, we "
        "need a signed HIPAA authorization form instead, which we can send you).",
        "es": "**Cuándo:** lo enviaremos a la persona que usted indicó a más tardar el 20 de marzo de 2026, una vez que "
        "tengamos su autorización por escrito y firmada, con el nombre de esa persona y adónde enviarlo (si el "
        "expediente no se guarda en nuestro registro electrónico de salud, necesitamos en su lugar un formulario de "
        "autorización HIPAA firmado, que podemos enviarle).",
    }
    assert expected[language] in paragraphs(ack)


def test_an_electronic_ehr_copy_to_a_third_party_rests_on_the_clients_signed_direction():
    context = {**CONTEXT, "third_party": True, "recipient": "Dr. Lee Park", "directed_kind": "ehr_electronic"}
    ack = draft_letter("acknowledgement", **context)
    assert "once we have your signed, written direction naming them and where to send it." in ack
    assert "HIPAA authorization" not in ack


# --- Contacts that are titles; Markdown that renders ---------------------------------------------------------------


def test_a_contact_given_as_a_title_reads_as_our_title_and_a_person_reads_as_their_name():
    titled = draft_letter("acknowledgement", **{**CONTEXT, "contact_name": "Office Manager"})
    assert "please contact our Office Manager at 555-0100." in titled
    assert "comuníquese con nuestro(a) Office Manager al 555-0100." in draft_letter(
        "acknowledgement", "es", **{**CONTEXT, "contact_name": "Office Manager"}
    )
    named = draft_letter("acknowledgement", **CONTEXT)
    assert "please contact Dr. Ana Ruiz at 555-0100." in named
    both = draft_letter("acknowledgement", **{**CONTEXT, "contact_name": "Dana Brooks, Privacy Officer"})
    assert "please contact Dana Brooks, Privacy Officer at 555-0100." in both


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", CLIENT_LETTERS)
@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"third_party": True, "requester": "parent_of_minor"},
        {"items": [NOTES, PARTNER, RISK], "denied": None, "jurisdiction": "TX", "denial_duration": "90 days"},
        {"withheld": withheld(NOTES, PARTNER), "reasons": ["Records offsite", "Large file"]},
    ],
)
def test_every_letter_renders_as_markdown(kind, language, variant):
    letter = draft_letter(kind, language, **{**CONTEXT, **variant})
    assert_renders_as_markdown(letter)
    assert not re.search(r"\n[ \t]+\n", letter)
