"""reStructuredText and HTML stripped to their running-text paragraphs (english-mix's Python and kernel docs)."""

from rnn_nlp.data.formats.markup import html_paragraphs, rst_inline, rst_paragraphs

RST = """.. SPDX-License-Identifier: GPL-2.0

=============
A Short Guide
=============

:Author: Someone <a@b.c>
         and another

The ``pci_enable_device()`` call wakes the device up. See :ref:`the
driver API <driver-api>` and `the LWN article <https://lwn.net/>`_ for
*more* on **this**.

Load the module like this::

    modprobe foo bar=1

    modprobe baz

- First item of a list
  that goes on.
- Second item.

.. note:: Notes are prose
   and stay.

.. code-block:: c

   int x = 1;

.. function:: frob(x, y)

   Frob the value x by y.

.. versionchanged:: 3.2 Added the *y* argument.

=====  =====
Name   Value
=====  =====
one    1
=====  =====

+------+------+
| a    | b    |
+------+------+

>>> print(1)
1

Term
    Its definition follows.

Section
-------
Last words.
"""


def test_rst_keeps_running_text_and_drops_the_rest():
    assert rst_paragraphs(RST) == [
        "The pci_enable_device() call wakes the device up. See the driver API and the LWN article for more on this.",
        "Load the module like this:",
        "First item of a list that goes on.",
        "Second item.",
        "Notes are prose and stay.",
        "Frob the value x by y.",
        "Added the y argument.",
        "Term",
        "Its definition follows.",
        "Last words.",
    ]


def test_rst_inline_markup_keeps_its_text():
    assert rst_inline(":c:func:`~foo.bar` and :class:`Baz` read |name| [#]_ \\*x\\*") == "foo.bar and Baz read name *x*"


def test_a_paragraph_that_is_only_a_literal_marker_leaves_nothing():
    assert rst_paragraphs("Text before.\n\n::\n\n    code()\n\nText after.\n") == ["Text before.", "Text after."]


HTML = """<html><head><title>T</title><style>p {}</style></head><body><nav><a href="/">Home</a></nav>
<h1>Heading</h1><p>First paragraph with <code>code</code> &amp; a <a href="x">link</a>.</p>
<pre>x = 1
y = 2</pre><ul><li>One item.</li><li>Two<br>lines.</li></ul><table><tr><td>cell</td></tr></table>
<script>var a = 1;</script><p>Last &eacute;t&eacute; words.</p><footer>Copyright</footer></body></html>"""


def test_html_keeps_blocks_of_text_and_drops_code_tables_and_furniture():
    assert html_paragraphs(HTML) == ["First paragraph with code & a link.", "One item.", "Two lines.", "Last été words."]
