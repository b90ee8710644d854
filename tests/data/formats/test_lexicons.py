"""GCIDE entries (dictd) and WordNet data lines as running text (english-mix's dictionaries)."""

from rnn_nlp.data.formats.lexicons import dictd_index, dictd_number, gcide_paragraphs, wordnet_lines

AFFECT = """Affect \\Af*fect"\\, v. t. [imp. & p. p. {Affected}; p. pr. & vb.
   n. {Affecting}.] [L. affectus, p. p. of afficere to affect.]
   1. To act upon; to produce an effect or change upon.
      [1913 Webster]

            As might affect the earth with cold heat. --Milton.
      [1913 Webster]

   2. To love; to regard with affection. [Obs.]
      [1913 Webster]

   Syn: To influence; operate; act on.
        [1913 Webster]

   Note: The caf['e] of Ph[oe]nician fame, see {Of}.
         [PJC]
"""


def test_gcide_entry_keeps_definitions_notes_and_quotations():
    assert gcide_paragraphs(AFFECT) == [
        "To act upon; to produce an effect or change upon.",
        "As might affect the earth with cold heat.",
        "To love; to regard with affection.",
        "The cafe of Phoenician fame, see Of.",
    ]


def test_gcide_header_labels_plurals_and_subjects_go():
    assert gcide_paragraphs('Nobleman \\No"ble*man\\, n.; pl. {Noblemen}.\n   One of the nobility; a peer. --1 Cor. xi. 23.\n') == [
        "One of the nobility; a peer."
    ]
    assert gcide_paragraphs('Oxamate \\Ox*am"ate\\, n. (Chem.)\n   A salt of oxamic acid.\n   [1913 Webster]\n') == [
        "A salt of oxamic acid."
    ]
    assert gcide_paragraphs("Of \\Of\\ ([o^]v), prep. [AS. of.]\n   In a general sense, from.\n") == ["In a general sense, from."]


def test_dictd_index_numbers_and_entries():
    assert (dictd_number("A"), dictd_number("5I"), dictd_number("BNy")) == (0, 3656, 4978)
    index = "00-database-info\tKj\tuk\nA\tB\tC\nAlpha\tB\tC\nBeta\tD\tE\n"
    assert dictd_index(index) == [("A", 1, 2), ("Beta", 3, 4)]


def test_wordnet_line_gives_definition_then_examples():
    line = '00002573 29 v 01 respire 2 003 $ 00001740 v 0000 | breathe easily again, as after exertion; "She breathed again" ; '
    line += '"Respire slowly"  '
    assert wordnet_lines(line) == ["breathe easily again, as after exertion", "She breathed again", "Respire slowly"]
    assert wordnet_lines("  1 This software and database is being provided to you, the LICENSEE, by  ") == []
