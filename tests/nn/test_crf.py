"""The CRF's partition function and Viterbi path against brute-force enumeration; constrained transitions."""

import itertools

import torch

from rnn_nlp.data.tag_schemes import allowed_transitions
from rnn_nlp.nn.crf import CRF


def _brute(crf, emissions, length):
    start, trans, end = crf.scores()
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        s = start[path[0]] + sum(emissions[t, path[t]] for t in range(length))
        s = s + sum(trans[path[t - 1], path[t]] for t in range(1, length)) + end[path[-1]]
        scores[path] = s
    return scores


def test_partition_and_viterbi_match_enumeration():
    torch.manual_seed(0)
    crf = CRF(3)
    with torch.no_grad():
        crf.start.normal_()
        crf.end.normal_()
        crf.transitions.normal_()
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    tags = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 0]])
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
        gold = crf.path_score(emissions, tags, mask)
    best = crf.viterbi(emissions, mask)
    for row, length in enumerate((4, 3)):
        with torch.no_grad():
            scores = _brute(crf, emissions[row], length)
        expected = torch.logsumexp(torch.stack(list(scores.values())), 0)
        assert torch.allclose(log_z[row], expected, atol=1e-5)
        assert tuple(best[row]) == max(scores, key=lambda p: float(scores[p]))
        assert torch.allclose(gold[row], scores[tuple(tags[row, :length].tolist())], atol=1e-5)
    nll = crf.nll(emissions, tags, mask)
    assert bool((nll > 0).all())


def test_constrained_viterbi_never_returns_an_invalid_iob2_path():
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    crf = CRF(len(tags), allowed_transitions(tags, "iob2"))
    emissions = torch.zeros(1, 3, len(tags))
    emissions[0, :, 4] = 5.0  # I-LOC everywhere would win unconstrained
    emissions[0, 0, 1] = 4.0
    (path,) = crf.viterbi(emissions, torch.ones(1, 3, dtype=torch.bool))
    assert [tags[i] for i in path] == ["B-LOC", "I-LOC", "I-LOC"]


def test_training_a_crf_learns_the_gold_paths():
    torch.manual_seed(0)
    crf = CRF(3)
    emissions = torch.zeros(4, 5, 3, requires_grad=True)
    gold = torch.tensor([[0, 1, 2, 0, 1]] * 4)
    mask = torch.ones(4, 5, dtype=torch.bool)
    opt = torch.optim.Adam(list(crf.parameters()) + [emissions], lr=0.1)
    first = None
    for _ in range(60):
        loss = crf.nll(emissions, gold, mask).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 10
    assert crf.viterbi(emissions, mask) == gold.tolist()


def test_pieces_cut_from_a_sentence_skip_the_start_and_end_scores():
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    crf = CRF(len(tags), allowed_transitions(tags, "bioes"))
    with torch.no_grad():
        crf.start.normal_()
        crf.end.normal_()
    emissions = torch.zeros(2, 2, len(tags))
    emissions[0, 0, 1] = emissions[0, 1, 2] = 5.0  # piece 1: "B-PER I-PER" (sentence goes on)
    emissions[1, 0, 2] = emissions[1, 1, 3] = 5.0  # piece 2: "I-PER E-PER" (cut from the middle)
    gold = torch.tensor([[1, 2], [2, 3]])
    mask = torch.ones(2, 2, dtype=torch.bool)
    starts, ends = torch.tensor([True, False]), torch.tensor([False, True])
    constrained = crf.nll(emissions, gold, mask)
    assert (constrained > 5000).all()  # as whole sentences both paths are forbidden
    cut = crf.nll(emissions, gold, mask, starts, ends)
    assert (cut < 5).all()
    assert crf.viterbi(emissions, mask, starts, ends) == [[1, 2], [2, 3]]
    # a piece that both starts and ends the sentence scores exactly as before
    whole = crf.nll(emissions, gold, mask, torch.tensor([True, True]), torch.tensor([True, True]))
    assert torch.allclose(whole, constrained)
    # with no start or end score the partition is the plain sum over paths of emissions + transitions
    _, trans, _ = crf.scores()
    free = torch.logsumexp((emissions[1, 0].unsqueeze(1) + trans + emissions[1, 1].unsqueeze(0)).flatten(), 0)
    assert torch.allclose(crf.log_partition(emissions[1:], mask[1:], starts[1:] & False, ends[1:] & False), free.unsqueeze(0))
