"""Every built-in task, entered in the registry in this one module (as spaCy's registrations.py does,
so that no task module has to be imported to know the names, and nothing imports in a circle).

tests/tasks/test_registrations.py pins the contents.
"""

from __future__ import annotations

from rnn_nlp.tasks.registry import register_lazy

BUILTIN_TASKS = {
    "lm": "rnn_nlp.tasks.lm.task:LMTask",
    "classify": "rnn_nlp.tasks.classification.task:ClassificationTask",
    "ner": "rnn_nlp.tasks.tagging.task:NerTask",
    "pos": "rnn_nlp.tasks.tagging.task:PosTask",
    "qa": "rnn_nlp.tasks.qa.task:QATask",
    "seq2seq": "rnn_nlp.tasks.seq2seq.task:Seq2SeqTask",
}


def populate() -> None:
    for name, target in BUILTIN_TASKS.items():
        register_lazy(name, target)


populate()
