"""parse_document on tiny in-code fixtures of every supported format."""
from __future__ import annotations

import pytest

from ragbot.errors import DocumentError, UnsupportedFormatError
from ragbot.knowledge.parsing import ParsedPage, detect_format, parse_document


def make_pdf(*page_texts: str, title: str | None = None) -> bytes:
    """A minimal valid PDF with one text line per page (hand-written PDF syntax)."""
    n = len(page_texts)
    font = 3 + 2 * n  # object numbers: 1 catalog, 2 pages, then (page, content) pairs
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(n))}] "
               f"/Count {n} >>"]
    for i, text in enumerate(page_texts):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode('latin-1')}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    info = None
    if title:
        objects.append(f"<< /Title ({title}) >>")
        info = len(objects)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    trailer = f"/Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "")
    out += f"trailer\n<< {trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------- text / markdown
def test_plain_text_with_charset():
    pages = parse_document("Grüße aus Köln\n".encode("latin-1"), source="https://x/a.txt",
                           content_type="text/plain; charset=ISO-8859-1")
    assert pages == [ParsedPage("Grüße aus Köln", None, None)]


def test_plain_text_bad_utf8_replaced_not_crashing():
    pages = parse_document(b"ok \xff\xfe bytes", source="notes.txt", content_type=None)
    assert pages[0].text.startswith("ok ") and "\ufffd" in pages[0].text


def test_markdown_title_is_first_h1_outside_code():
    md = b"```\n# not a title\n```\nintro\n\n# Zorblat fruit\n\n## Growing\nPurple.\n"
    (page,) = parse_document(md, source="docs/zorblat.md", content_type=None)
    assert page.title == "Zorblat fruit"
    assert "## Growing" in page.text and page.page is None


def test_markdown_served_as_text_plain_by_extension():
    (page,) = parse_document(b"# Rivers\n\nSilverrun.", source="http://h/r.md",
                             content_type="text/plain")
    assert page.title == "Rivers"


# ---------------------------------------------------------------- HTML
HTML_DOC = b"""<!DOCTYPE html><html><head><title>Quantum Bakery</title>
<style>body { color: red }</style><script>var secret = 1;</script></head>
<body><header>Site header</header><nav><a href="/">Home</a> | menu</nav>
<main><h1>Opening hours</h1>
<p>The bakery opens at
   <b>seven</b> in the morning.</p>
<p>Line one<br>Line two</p>
<noscript>enable js</noscript><form>search box</form>
<ul><li>Sourdough</li><li>Rye</li></ul>
</main>
<aside>related links</aside><footer>copyright</footer></body></html>"""


def test_html_main_text_only():
    (page,) = parse_document(HTML_DOC, source="https://bakery.example/hours",
                             content_type="text/html; charset=utf-8")
    assert page.title == "Quantum Bakery"
    # headings stay as Markdown heading lines: they mark the sections chunks keep
    assert page.headings and page.text == (
        "# Opening hours\n\nThe bakery opens at seven in the morning.\n\n"
        "Line one\nLine two\n\nSourdough\n\nRye")
    for dropped in ("secret", "color", "Site header", "menu", "enable js", "search box",
                    "related", "copyright"):
        assert dropped not in page.text


def test_html_without_main_uses_body_and_h1_title():
    html = b"<html><body><h1>Doc</h1><article><p>Para</p></article><script>x()</script></body></html>"
    (page,) = parse_document(html, source="page.htm", content_type=None)
    assert page.title == "Doc"
    assert page.text == "Para"  # <article> preferred over the whole body


def test_html_sniffed_when_type_is_octet_stream():
    (page,) = parse_document(b"<!doctype html><p>hi there</p>", source="https://h/download",
                             content_type="application/octet-stream")
    assert page.text == "hi there"


# ---------------------------------------------------------------- PDF
def test_pdf_pages_numbered_from_one():
    pdf = make_pdf("Hello page one", "Hello page two", title="Two pages")
    pages = parse_document(pdf, source="https://h/doc.pdf", content_type="application/pdf")
    assert [(p.text, p.page, p.title) for p in pages] == [
        ("Hello page one", 1, "Two pages"), ("Hello page two", 2, "Two pages")]


def test_pdf_sniffed_without_content_type_or_extension():
    pages = parse_document(make_pdf("Sniffed"), source="https://h/file", content_type=None)
    assert pages[0].text == "Sniffed"


@pytest.mark.parametrize("content", [
    b"%PDF-1.4\nthis is not really a pdf",
    make_pdf("Hello page one")[:120],  # truncated
    b"",
])
def test_broken_pdf_is_document_error(content):
    with pytest.raises(DocumentError, match="not a readable PDF|no text"):
        parse_document(content, source="broken.pdf", content_type="application/pdf")


def test_pdf_without_text_is_document_error():
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    buffer = BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentError, match="no text"):
        parse_document(buffer.getvalue(), source="blank.pdf", content_type=None)


# ---------------------------------------------------------------- unsupported / empty
@pytest.mark.parametrize("content, source, ctype, reason", [
    (b"\x89PNG\r\n", "https://h/logo", "image/png", "unsupported content type image/png"),
    (b"PK\x03\x04", "report.docx", None, "unsupported file type '.docx'"),
    (b"\x00\x01binary", "blob", "application/octet-stream", "no extension"),
    (b"a,b\n1,2", "https://h/data.csv", "text/csv", "unsupported content type text/csv"),
])
def test_unsupported_formats_skipped_with_reason(content, source, ctype, reason):
    with pytest.raises(UnsupportedFormatError, match=reason):
        parse_document(content, source=source, content_type=ctype)
    assert issubclass(UnsupportedFormatError, DocumentError)


@pytest.mark.parametrize("content, source", [
    (b"   \n\n", "empty.txt"),
    (b"<html><body><script>only()</script></body></html>", "empty.html"),
])
def test_empty_text_is_document_error(content, source):
    with pytest.raises(DocumentError, match="no text"):
        parse_document(content, source=source, content_type=None)


@pytest.mark.parametrize("source, ctype, expected", [
    ("a.txt", None, "text"),
    ("C:\\docs\\b.MD", None, "markdown"),
    ("https://h/x.html?download=1", None, "html"),
    ("https://h/page", "text/html", "html"),
    ("https://h/doc.txt", "text/markdown", "markdown"),  # a specific type wins
    ("https://h/doc.pdf", "application/pdf; qs=1", "pdf"),
    ("README", None, "text"),
])
def test_detect_format(source, ctype, expected):
    assert detect_format(b"plain", source, ctype) == expected
