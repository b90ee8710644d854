"""The built-in tasks as `rnn_nlp.tasks.registrations` enters them: names pinned, each loadable, each
class found in its own task folder with the model class `rnn_nlp.load` returns for it."""

from __future__ import annotations

from rnn_nlp.tasks import get_task, task_names
from rnn_nlp.tasks.base import Task
from rnn_nlp.tasks.model import Model
from rnn_nlp.tasks.registrations import BUILTIN_TASKS

EXPECTED = {
    "classify": ("classification", "ClassificationTask", "ClassifierModel"),
    "lm": ("lm", "LMTask", "LanguageModel"),
    "ner": ("tagging", "NerTask", "TaggerModel"),
    "pos": ("tagging", "PosTask", "TaggerModel"),
    "qa": ("qa", "QATask", "ReaderModel"),
    "seq2seq": ("seq2seq", "Seq2SeqTask", "Seq2SeqModel"),
}


def test_the_registry_holds_exactly_the_built_in_tasks():
    assert sorted(BUILTIN_TASKS) == sorted(EXPECTED)
    assert set(EXPECTED) <= set(task_names())


def test_each_built_in_task_loads_from_its_own_folder():
    for name, (folder, task_class, model_class) in EXPECTED.items():
        cls = get_task(name)
        assert issubclass(cls, Task) and cls.__name__ == task_class and cls.name == name
        assert cls.__module__ == f"rnn_nlp.tasks.{folder}.task"
        assert issubclass(cls.model_class, Model) and cls.model_class.__name__ == model_class
        assert cls.model_class.__module__ == f"rnn_nlp.tasks.{folder}.model"
