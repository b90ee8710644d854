"""Downstream tasks: each ties a reader, a head, metrics and output writing, registered by name.

Installed as `rnn_nlp.tasks` (the repository keeps it as the top-level folder `tasks/`).
"""

from rnn_nlp.tasks import registrations  # noqa: F401  (enters the built-in tasks in the registry)
from rnn_nlp.tasks.base import Task  # noqa: F401 (the public names of rnn_nlp.tasks)
from rnn_nlp.tasks.registry import get_task, register_task, task_names  # noqa: F401
