#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ from the
repository's fixtures (tests/fixtures/upstream, tests/fixtures/scenarios,
tests/fixtures/adversarial, examples). Run from anywhere; safe to re-run."""
import glob, hashlib, json, os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

events, settings = [], []
for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/upstream/*.json")) +
                   glob.glob(os.path.join(ROOT, "examples/events/*.json"))):
    events.append(open(path, "rb").read())
for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/scenarios/*.json"))):
    doc = json.load(open(path))
    if "settings" in doc:
        settings.append(json.dumps(doc["settings"]).encode())
    for item in doc.get("items", []):
        if "event" in item:
            events.append(json.dumps(item["event"]).encode())
        if "raw" in item:
            events.append(item["raw"].encode())
for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/adversarial/*"))):
    if path.endswith(".json") and os.path.basename(path) != "expected.json":
        data = open(path, "rb").read()
        if len(data) < 100_000:
            events.append(data)
for path in sorted(glob.glob(os.path.join(ROOT, "examples/**/*.json"), recursive=True)):
    if "/events/" not in path:
        settings.append(open(path, "rb").read())

ctx = b'{"now":1764000000,"first_occurrence":false,"dry_run":false}'
ok_list = b'{"answer":"response","status":200,"headers":[],"body":"[]"}'
created = b'{"answer":"response","status":201,"headers":[],"body":"{\\"id\\":7}"}'
for e in events:
    put("event", e)
    put("json_in", e)
    put("json_api", b"{}\xfe" + e + b"\xfe" + ctx + b"\xfe" + ok_list + b"\xfe" + ok_list + b"\xfe" + created)
for s in settings:
    put("config", s)
    put("json_in", s)
    put("config", s + b"\xffREACTIO_OCCURRENCES=2\nREACTIO_CALL=critical\xffrefresh=60\xff  key-from-file \n")
    put("json_api", b'{"settings":' + s + b'}\xfe' + events[0] + b"\xfe" + ctx)
put("config", b'{"reactio":{"api_key_file":"/etc/sensu/reactio.key","organization":"demo"}}\xff\xff\xffabc\n')
for j in (ctx, ok_list, created, b'[1,-1,-0,0.5,-2.5e-3,1E+2,18446744073709551616,-9223372036854775809,1e309]',
          b'"\\u00e9\\ud83d\\ude00\\ud83d\\n\\x"', b'[[[{"a":{"b":[]}}]]]'):
    put("json_in", j)
# The answers target takes structured input; a few random byte strings start it.
for i in range(16):
    put("answers", hashlib.sha512(str(i).encode()).digest() * (i + 1))
for t in sorted(os.listdir(CORPUS)):
    print(t, len(os.listdir(os.path.join(CORPUS, t))))
