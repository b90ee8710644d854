"""The long runs of the lecture's experiments (`rnn-nlp experiment NAME --config ...`)."""
