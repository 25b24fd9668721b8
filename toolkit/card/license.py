"""What a card may claim about the rights to its images.

The licence of a dataset of pairs is the licence of its reals (each fake is a derivative of one real),
plus whatever the generator's licence says about its outputs. Each source says what it knows in its
`describe()["license"]` (the bundled photographs carry licences stated in scikit-image's docstrings;
LAION reals belong to their owners, unknown, research only); a source that says nothing (a folder of
the publisher's images) gets `unknown_rights`: unknown until the publisher states it. The statement is
written to meta/LICENSE.md and linked from the card.
"""

from __future__ import annotations

LICENSE_FILE = "meta/LICENSE.md"

def license_info(source: dict) -> dict:
    """`{license, license_name, license_link, research_only, summary, text}` for a source's describe().

    A source states its own licence (`describe()["license"]`: sources/bundled.py, sources/laion/source.py);
    one that does not gets `unknown_rights`."""
    if isinstance(source.get("license"), dict):
        lic = dict(source["license"])
        lic.setdefault("license_link", LICENSE_FILE)
        lic.setdefault("research_only", False)
        lic.setdefault("text", lic.get("summary", ""))
        return lic
    return unknown_rights(source.get("kind", "?"))


def unknown_rights(kind: str) -> dict:
    """What a card may say about images the toolkit did not ship and cannot know the rights of."""
    return {
        "license": "other",
        "license_name": "unknown-rights",
        "license_link": LICENSE_FILE,
        "research_only": True,
        "summary": (f"The reals come from a `{kind}` source whose licence the toolkit cannot know: the rights to "
                    "each image are those of its owner. Until the publisher states a licence, treat the data as "
                    "**for research only**."),
        "text": ("The reals were read from a location the publisher chose; the toolkit records where each came "
                 "from (`origin` column) but not its licence. The rights to each image, and to each fake derived "
                 "from it, remain with the image's owner. Until the publisher replaces this statement, use is "
                 "restricted to research.\n"),
    }


def license_markdown(name: str, lic: dict) -> str:
    return (f"# Licence of {name}\n\n`license: {lic['license']}`, `license_name: {lic['license_name']}`\n\n"
            f"{lic['text']}\n"
            "The fakes were produced by the model(s) listed in the dataset card; check each model's own licence "
            "for terms on its outputs.\n")
