"""The tagger head and network: widths, character features, padding that changes nothing, a loss that falls."""

import pytest
import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.tag_schemes import allowed_transitions
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.tagger import CharEncoder, TaggerHead, TaggerHeadConfig, TaggerNetwork, sentence_part

TAGS = ["O", "B-A", "I-A"]


def _model(direction="both", **head):
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=8, layers=1, direction=direction), 20)
    cfg = TaggerHeadConfig(dropout=0.0, word_dropout=0.0, **head)
    head_module = TaggerHead(backbone.output_dim, len(TAGS), cfg, n_chars=12, allowed=allowed_transitions(TAGS, "iob2"))
    return TaggerNetwork(backbone, head_module)


def _batch():
    ids = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    chars = torch.randint(1, 12, (2, 4, 5))
    chars[1, 2:] = 0
    chars[:, :, 4] = 0
    return {"ids": ids, "lengths": torch.tensor([4, 2]), "chars": chars, "tags": torch.tensor([[1, 2, 0, 1], [0, 1, -1, -1]])}


@pytest.mark.parametrize("kind,width", [("cnn", 7), ("bilstm", 14)])
def test_char_encoder_widths(kind, width):
    enc = CharEncoder(12, TaggerHeadConfig(char_features=kind, char_size=7))
    batch = _batch()
    mask = batch["ids"] != 0
    out = enc(batch["chars"], mask)
    assert enc.output_dim == width and out.shape == (2, 4, width)
    assert bool((out[1, 2:] == 0).all())


def test_head_states_its_widths_and_refuses_a_mismatch():
    head = TaggerHead(16, 3, TaggerHeadConfig(encoder="bilstm", encoder_size=5, char_features="cnn", char_size=4), n_chars=12)
    assert (head.input_dim, head.feature_dim, head.output_dim) == (16, 10, 3)
    with pytest.raises(ValueError, match="width 16"):
        head(torch.zeros(1, 2, 8), torch.ones(1, 2, dtype=torch.bool), torch.ones(1, 2, 3, dtype=torch.long))


@pytest.mark.parametrize("head", [{"decoder": "crf"}, {"decoder": "softmax", "encoder": "bilstm", "char_features": "bilstm"}])
def test_padding_does_not_change_a_sentence(head):
    model = _model(**head).eval()
    batch = _batch()
    alone = {"ids": batch["ids"][1:, :2], "lengths": torch.tensor([2]), "chars": batch["chars"][1:, :2]}
    together = model.emissions(batch)[0][1, :2]
    assert torch.allclose(model.emissions(alone)[0][0], together, atol=1e-5)


@pytest.mark.parametrize("decoder", ["crf", "softmax"])
def test_loss_falls_and_decoding_learns_the_tags(decoder):
    model = _model(direction="forward", decoder=decoder, encoder="bilstm", char_features="cnn")
    batch = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        out = model(batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert losses[-1] < losses[0] / 5
    model.eval()
    out = model(batch)
    assert model.decode(out["emissions"], out["mask"]) == [[1, 2, 0, 1], [0, 1]]


def test_unknown_tags_are_left_out_of_the_loss():
    model = _model(decoder="crf")
    batch = _batch()
    batch["tags"][0, 1] = -1  # a tag training never saw: the CRF drops that sentence
    out = model(batch)
    assert out["loss_count"] == 1
    assert torch.isfinite(out["loss"])


def _string_model(trainable: bool) -> TaggerNetwork:
    from rnn_nlp.data.vocab import Vocab
    from rnn_nlp.nn.embedders.string_embeddings import StringEmbedder

    torch.manual_seed(0)
    chars = Vocab.build([list("abcdefgh ")], unit="char")
    strings = StringEmbedder(BackboneConfig(emb_size=4, hidden_size=3, layers=1, direction="both"), chars, trainable=trainable)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=8, layers=1, direction="both"), 20)
    cfg = TaggerHeadConfig(dropout=0.0, word_dropout=0.0, encoder="bilstm", encoder_size=4)
    return TaggerNetwork(backbone, TaggerHead(backbone.output_dim, len(TAGS), cfg, strings=strings))


def test_string_embeddings_join_the_head_input_and_a_frozen_char_lm_is_in_no_parameter_group():
    model = _string_model(trainable=False)
    assert model.head.encoder.input_size == 16 + 6
    batch = {k: v for k, v in _batch().items() if k != "chars"}
    with pytest.raises(ValueError, match="'words'"):
        model(batch)
    batch["words"] = [("ab", "cd", "ef", "gh"), ("ab", "c")]
    model(batch)["loss"].backward()
    lm = {id(p) for p in model.head.strings.parameters()}
    assert all(p.grad is None for p in model.head.strings.parameters())
    assert not any(id(p) in lm for group in model.parameter_groups() for p in group)
    assert len(model.parameter_groups()) == 3  # embeddings, the LSTM layer, the head: as without string embeddings


def test_a_trainable_char_lm_is_the_bottom_parameter_group():
    model = _string_model(trainable=True)
    groups = model.parameter_groups()
    assert len(groups) == 4 and {id(p) for p in groups[0]} == {id(p) for p in model.head.strings.parameters()}
    assert not any(id(p) in {id(q) for q in groups[0]} for p in groups[-1])


def test_word_dropout_drops_a_words_pretrained_vector_with_its_id():
    import numpy as np

    from rnn_nlp.data.vectors import WordVectors

    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=4, hidden_size=8, layers=1, direction="both", vectors="t", vectors_mode="frozen"), 20)
    words = ["<pad>", "<unk>", "<eos>"] + [f"w{i}" for i in range(17)]
    table = WordVectors(keys=words[3:], matrix=np.random.default_rng(0).normal(size=(17, 4)).astype(np.float32), source="t")
    backbone.attach_vectors(table, words, ("<pad>", "<unk>", "<eos>"))
    cfg = TaggerHeadConfig(dropout=0.0, word_dropout=1.0, decoder="softmax")
    model = TaggerNetwork(backbone, TaggerHead(backbone.output_dim, len(TAGS), cfg)).train()
    batch = {"ids": torch.tensor([[3, 4, 5]]), "lengths": torch.tensor([3]), "vector_rows": torch.tensor([[0, 1, 2]])}
    dropped, _ = model.emissions(batch)
    model.head.cfg.word_dropout = 0.0
    plain_unk, _ = model.emissions({"ids": torch.tensor([[1, 1, 1]]), "lengths": torch.tensor([3])})
    assert torch.allclose(dropped, plain_unk)  # every word dropped: <unk> alone, its vector gone with it


def test_sentence_part_cuts_each_window_to_its_sentence():
    scores = torch.arange(2 * 5 * 1, dtype=torch.float).reshape(2, 5, 1)
    part, mask = sentence_part(scores, torch.tensor([1, 0]), torch.tensor([3, 2]))
    assert part.shape == (2, 3, 1)
    assert part[0, :, 0].tolist() == [1.0, 2.0, 3.0]  # window 0's tokens 1..3
    assert part[1, :2, 0].tolist() == [5.0, 6.0]  # window 1's tokens 0..1
    assert mask.tolist() == [[True, True, True], [True, True, False]]


@pytest.mark.parametrize("decoder", ["crf", "softmax"])
def test_windows_loss_and_tags_cover_the_sentence_only(decoder):
    """The network reads the whole window, but its loss is that of the sentence's own emissions: a context
    token's tag (here -1 everywhere outside the sentence) never enters, and decoding gives the sentence's length."""
    model = _model(decoder=decoder).eval()
    batch = _batch()  # windows of 4 and 2 tokens; the sentences: tokens 1-2 of the first, token 1 of the second
    window = {
        **batch,
        "window_left": torch.tensor([1, 1]),
        "sentence_lengths": torch.tensor([2, 1]),
        "tags": torch.tensor([[2, 0], [1, -1]]),
    }
    out = model(window)
    full, _ = model.emissions({k: v for k, v in batch.items() if k != "tags"})
    assert torch.allclose(out["emissions"][0], full[0, 1:3]) and torch.allclose(out["emissions"][1, :1], full[1, 1:2])
    assert out["mask"].tolist() == [[True, True], [True, False]]
    if decoder == "crf":
        expected = model.head.crf.nll(out["emissions"], window["tags"].clamp(min=0), out["mask"]).sum() / 2
        assert out["loss_count"] == 2
    else:
        expected = torch.nn.functional.cross_entropy(torch.cat([full[0, 1:3], full[1, 1:2]]), torch.tensor([2, 0, 1]))
        assert out["loss_count"] == 3
    assert float(out["loss"].detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert [len(p) for p in model.decode(out["emissions"], out["mask"])] == [2, 1]
