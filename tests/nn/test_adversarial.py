"""Adversarial training on word embeddings (trainer.adversarial, Miyato et al. 2017): the move is eps long per
sequence and along the loss gradient, the loss is clean + adversarial, the reported loss is the clean one, and
the backbone's embedding change is undone after each pass."""

import pytest
import torch
import torch.nn.functional as F

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.nn.adversarial import per_sequence_norm
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.classifier import ClassifierHead, ClassifierHeadConfig, ClassifierNetwork


def _model() -> ClassifierNetwork:
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=6, layers=1, direction="both"), 30)
    return ClassifierNetwork(backbone, ClassifierHead(backbone.output_dim, 3, ClassifierHeadConfig(dropout=0.0), backbone.directions))


def _batch() -> dict:
    ids, lengths = pad_batch([[3, 4, 5, 6], [7, 8], [9, 10, 11]])
    return {"ids": ids, "lengths": lengths, "labels": torch.tensor([0, 2, 1])}


def _loss_with_embeddings_moved(model: ClassifierNetwork, batch: dict, move: torch.Tensor) -> torch.Tensor:
    with model.backbone.changed_embeddings(lambda e: e + move):
        return model(batch)["loss"]


def test_the_loss_is_clean_plus_the_loss_at_embeddings_moved_eps_along_the_gradient():
    model, batch, eps = _model(), _batch(), 0.5
    out = model.adversarial_forward(batch, eps)
    clean = model(batch)["loss"]
    # by hand: the gradient at the embeddings, each sequence's scaled to length eps
    emb = model.backbone.embed(batch["ids"]).detach().requires_grad_(True)
    with model.backbone.changed_embeddings(lambda e: emb):
        (grad,) = torch.autograd.grad(model(batch)["loss"], emb)
    move = eps * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert move.flatten(1).norm(dim=1) == pytest.approx([eps] * 3, rel=1e-5)
    adversarial = _loss_with_embeddings_moved(model, batch, move)
    assert out["loss"].item() == pytest.approx((clean + adversarial).item(), rel=1e-5)
    assert out["log_loss"].item() == pytest.approx(clean.item(), rel=1e-6)  # the run reports the clean loss
    assert adversarial > clean  # the gradient's direction raises the loss ...
    random = torch.randn_like(move)
    random = eps * random / random.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert adversarial > _loss_with_embeddings_moved(model, batch, random)  # ... more than a random move of that length


def test_it_trains_every_weight_and_leaves_the_backbone_as_it_was():
    model, batch = _model(), _batch()
    before = model(batch)["logits"].detach()
    out = model.adversarial_forward(batch, 1.0)
    assert torch.equal(out["logits"], before)  # the outputs are the clean pass's
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert model.backbone._embedding_change is None
    assert torch.equal(model(batch)["logits"], before)  # no move is left behind


def test_a_frozen_embedding_still_gets_its_move():
    """Gradual unfreezing freezes the embeddings early on: the move is still computed (at a zero leaf), not an error."""
    model, batch = _model(), _batch()
    model.backbone.embedding.weight.requires_grad_(False)
    out = model.adversarial_forward(batch, 1.0)
    adversarial = out["loss"].item() - out["log_loss"].item()
    assert adversarial > out["log_loss"].item() > 0  # the moved embeddings' loss, above the clean one: a move was made


def test_a_second_pass_that_embeds_something_else_is_an_error():
    model, batch = _model(), _batch()
    calls = []
    real_forward = ClassifierNetwork.forward

    def shrinking(self, batch):  # the second call reads one sequence fewer
        calls.append(1)
        if len(calls) == 2:
            batch = {k: v[:2] for k, v in batch.items()}
        return real_forward(self, batch)

    model.forward = shrinking.__get__(model)
    with pytest.raises(RuntimeError, match="second pass embedded"):
        model.adversarial_forward(batch, 1.0)


def test_per_sequence_norm_never_divides_by_zero():
    grad = torch.zeros(2, 3, 4)
    grad[0, 1, 2] = 3.0
    assert per_sequence_norm(grad).flatten().tolist() == pytest.approx([3.0, 1e-12])


def test_cross_entropy_is_what_the_clean_pass_reports():
    model, batch = _model(), _batch()
    out = model.adversarial_forward(batch, 0.1)
    assert out["log_loss"].item() == pytest.approx(F.cross_entropy(out["logits"], batch["labels"]).item(), rel=1e-6)


# ---- in a run (trainer.adversarial) ------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classify", "ner", "qa", "seq2seq"])
def test_every_task_head_trains_adversarially_and_its_loss_falls(tmp_path, task, monkeypatch):
    from rnn_nlp.nn import network
    from rnn_nlp.runs import build_config, train_run
    from tests.api_data import raw_config, write_data

    steps = []
    real = network.adversarial_output
    monkeypatch.setattr(network, "adversarial_output", lambda model, batch, eps: steps.append(eps) or real(model, batch, eps))
    raw = raw_config(task, write_data(task, tmp_path / "data"), trainer={"adversarial": 0.5, "epochs": 3})
    trainer = train_run(build_config(raw), tmp_path / "run")
    assert steps and set(steps) == {0.5} and len(steps) == trainer.global_step  # every step took the adversarial path
    losses = [row["train_loss"] for row in trainer.history]
    assert losses[-1] < losses[0], losses


def test_a_language_model_and_a_negative_size_are_refused_by_key(tmp_path):
    from rnn_nlp.errors import ConfigError
    from rnn_nlp.runs import build_config
    from tests.api_data import raw_config, write_data

    lm = raw_config("lm", write_data("lm", tmp_path / "lm"), trainer={"adversarial": 1.0})
    with pytest.raises(ConfigError, match=r"trainer\.adversarial.*hidden state"):
        build_config(lm)
    classify = raw_config("classify", write_data("classify", tmp_path / "c"), trainer={"adversarial": -1.0})
    with pytest.raises(ConfigError, match=r"trainer\.adversarial must be a finite number >= 0"):
        build_config(classify)
