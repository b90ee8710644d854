"""Word features for the backbone and the heads: pretrained word vectors, and contextual string
embeddings taken from character language models (Akbik et al. 2018)."""
