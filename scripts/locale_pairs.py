#!/usr/bin/env python3
"""Real English–X sentence pairs from the system's message catalogs, as a translation TSV.

Every Debian or Ubuntu package that is translated installs its catalog under
/usr/share/locale/<language>/LC_MESSAGES/*.mo: the English user-interface strings and their
human translations. This script reads them (Python's standard library parses .mo files) and
writes `english<TAB>translation` lines that zoo reads:

    python3 scripts/locale_pairs.py de > /tmp/locale-de.tsv
    zoo train translation --data /tmp/locale-de.tsv --subword bpe --merges 4000

Kept: single-line strings of 2 to 25 words that contain no format directive (%s, {0}, $1)
or markup, with the keyboard accelerators (_File, &Open) removed; each English string once.
"""
import gettext
import glob
import re
import sys

FORMAT = re.compile(r"%[-+ #0-9.*]*[a-zA-Z]|\{[^}]*\}|\$\d|<[^>]+>|\\|\t")


def clean(text):
    text = re.sub(r"(?<=\s)[_&](?=\w)|^[_&](?=\w)", "", text.replace("&&", "&"))
    return " ".join(text.split())


def pairs(language):
    seen = set()
    for path in sorted(glob.glob(f"/usr/share/locale/{language}/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except Exception as error:  # a damaged catalog is skipped, not fatal
            print(f"{path}: skipped ({error})", file=sys.stderr)
            continue
        for source, target in catalog.items():
            if not isinstance(source, str) or not isinstance(target, str):
                continue   # plural forms: (msgid, n) keys
            source = source.split("\x04", 1)[-1]   # drop a message context ("context\x04text")
            if not source or "\n" in source or "\n" in target or "\x00" in source:
                continue
            if FORMAT.search(source) or FORMAT.search(target):
                continue
            source, target = clean(source), clean(target)
            if not (2 <= len(source.split()) <= 25) or not target or source == target or source in seen:
                continue
            seen.add(source)
            yield source, target


def main():
    language = sys.argv[1] if len(sys.argv) > 1 else "de"
    count = 0
    for source, target in pairs(language):
        print(f"{source}\t{target}")
        count += 1
    print(f"{count} pairs from /usr/share/locale/{language}", file=sys.stderr)


if __name__ == "__main__":
    main()
