"""The built-in recipes: one YAML file each, found by name (rnn_nlp.builtin_recipes); installed as rnn_nlp.configs."""
