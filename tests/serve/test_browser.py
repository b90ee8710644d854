"""The page in a real browser (Debian's headless chromium, driven by selenium): load it, type, submit, and
check what it renders against the model's own results, for a tagger, a classifier and a language model,
and the model page's curves, confusion matrix and card. Skipped, saying why, only where no browser exists."""

from __future__ import annotations

import pytest

from rnn_nlp.serve.app import create_app
from tests.serve.browser import Browser, LiveServer, missing_browser

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=missing_browser() or "")


@pytest.fixture(scope="module")
def server(serve_models):
    with LiveServer(create_app(serve_models)) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def replace_text(box, text: str) -> None:
    box.clear()
    box.send_keys(text)


def js_text(browser, expression: str, *args) -> str:
    """The string a JavaScript expression (over `arguments`) gives, read back as code points: a text cut inside
    an emoji holds a lone surrogate, which chromedriver cannot send back as a string."""
    codes = browser.driver.execute_script(f"return Array.from({expression}, (c) => c.codePointAt(0))", *args)
    return "".join(map(chr, codes))


def test_the_tagger_shows_entities_and_tags_under_words(server, browser, serve_models):
    panel = browser.show(server.url, "tagger")
    browser.wait(lambda d: browser.css(".output .tokens", panel))  # the example, run on the first look
    text = "Ann Lee visited New York ."
    replace_text(browser.css("textarea.input-text", panel)[0], text)
    browser.css("button.run", panel)[0].click()
    expected = serve_models["tagger"].predict(text)
    marks = browser.wait(lambda d: (m := browser.css(".entities mark.entity", panel)) and "Ann" in m[0].text and m)
    shown = [browser.driver.execute_script("return arguments[0].firstChild.textContent", m) for m in marks]  # the text before its label
    assert [browser.css(".label", m)[0].text for m in marks] == [m.get_attribute("data-label") for m in marks]
    assert (
        list(zip([m.get_attribute("data-label") for m in marks], shown))
        == [(e.label, e.text) for e in expected.entities]
        == [("PER", "Ann Lee"), ("LOC", "New York")]
    )
    assert marks[0].value_of_css_property("background-color") == "rgba(170, 156, 252, 1)"  # displaCy's colour for PER
    tokens = [(browser.css(".word", t)[0].text, browser.css(".tag", t)[0].text) for t in browser.css(".tokens .token", panel)]
    assert tokens == list(zip(expected.tokens, expected.tags))


def test_entities_after_an_emoji_are_highlighted_where_they_are(server, browser, serve_models):
    """The server's offsets count characters (code points) as Python does; an emoji before an entity is one
    character there and two UTF-16 units in JavaScript, which must not shift the marks."""
    panel = browser.show(server.url, "tagger")
    browser.wait(lambda d: browser.css(".output .tokens", panel))
    text = "\U0001f600 \U0001f680 Ann Lee visited New York ."
    expected = serve_models["tagger"].predict(text)
    assert any(e.start > 0 for e in expected.entities)  # an entity after an emoji
    box = browser.css("textarea.input-text", panel)[0]
    browser.driver.execute_script("arguments[0].value = arguments[1]", box, text)  # chromedriver types only the BMP
    browser.css("button.run", panel)[0].click()
    words = lambda: [w.text for w in browser.css(".tokens .word", panel)]  # noqa: E731
    browser.wait(lambda d: words() == expected.tokens)  # this text's result is drawn
    marks = browser.css(".entities mark.entity", panel)
    shown = [js_text(browser, "arguments[0].firstChild.textContent", m) for m in marks]  # each mark's text, before its label
    assert [(m.get_attribute("data-label"), t) for m, t in zip(marks, shown)] == [(e.label, e.text) for e in expected.entities]
    whole = js_text(
        browser,
        "Array.from(arguments[0].childNodes, (n) => n.nodeType === 3 ? n.textContent : n.firstChild.textContent).join('')",
        browser.css(".entities", panel)[0],
    )
    assert whole == text  # the text around the marks is whole too


def test_the_classifier_draws_a_bar_per_label(server, browser, serve_models):
    panel = browser.show(server.url, "classifier")
    browser.wait(lambda d: browser.css(".bars", panel))
    text = "the cast was superb and moving"
    replace_text(browser.css("textarea.input-text", panel)[0], text)
    before = browser.css(".bars", panel)[0]
    browser.css("button.run", panel)[0].click()
    browser.wait(lambda d: browser.css(".bars", panel) and browser.css(".bars", panel)[0] != before)
    expected = serve_models["classifier"].predict(text)
    values = {v.get_attribute("data-label"): v.text for v in browser.css(".bar-value", panel)}
    assert values == {label: f"{100 * p:.1f}%" for label, p in expected.probabilities.items()}
    (chosen,) = browser.css(".bar-label.chosen", panel)
    assert chosen.text == expected.label


def test_the_language_model_suggests_next_words_as_you_type(server, browser, serve_models):
    from selenium.webdriver.common.keys import Keys

    lm = serve_models["lm"]

    def fresh(text: str) -> list[str]:
        words, partial = lm.typing_tokens(text)
        return [w for w, _ in lm.next_words(lm.read(words), 5, partial)]

    panel = browser.show(server.url, "lm")
    box = browser.css(".typing-input", panel)[0]
    box.send_keys("the c")  # one keystroke at a time
    chips = lambda: [c.get_attribute("data-word") for c in browser.css(".suggestion", panel)]  # noqa: E731
    browser.wait(lambda d: chips() == fresh("the c"))
    assert chips() and all(w.startswith("c") for w in chips())
    first = chips()[0]
    box.send_keys(Keys.TAB)  # takes the first suggestion
    browser.wait(lambda d: box.get_property("value") == f"the {first} " and chips() == fresh(f"the {first} "))
    state = browser.css(".typing-state", panel)[0].text
    assert state.endswith("the state holds 2")  # two words in the carried state; only the new one read

    replace_text(browser.css("input.input-text", panel)[0], "a dog")
    browser.css("button.run", panel)[0].click()  # the page's defaults: greedy, 20 tokens, stop at the sentence's end
    expected = lm.predict("a dog", max_tokens=20, stop_at_eos=True).to_dict()
    shown = lambda: [(p.text, c.text) for p, c in zip(browser.css(".generation .prompt", panel), browser.css(".continuation", panel))]  # noqa: E731
    browser.wait(lambda d: shown() == [(expected["prompt"], expected["text"])])


def test_the_model_page_shows_curves_confusion_matrix_and_card(server, browser):
    browser.driver.get(f"{server.url}/model/classifier")
    charts = browser.wait(lambda d: browser.css(".chart"))
    titles = [browser.css("h4", c)[0].text for c in charts]
    assert {"loss", "accuracy", "macro_f1"} <= set(titles)
    (image,) = browser.css('img[alt="confusion-test.png"]')
    browser.wait(lambda d: image.get_property("naturalWidth") > 0)  # the PNG loaded
    assert [h.text for h in browser.css(".card h1")] == ["A tiny sentiment classifier"]
    assert browser.css(".card strong")[0].text == "made-up"
