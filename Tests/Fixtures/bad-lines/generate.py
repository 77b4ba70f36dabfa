#!/usr/bin/env python3
"""Writes the hostile-input corpus: one file per case, named <expected code>.<slug>.line,
holding exactly the bytes of one request line (no terminator; the test adds "\n").
Re-run after editing: `python3 generate.py` (it deletes and rewrites every *.line file).
Cases found by the fuzzer are added as fuzz-<hash>.line files by hand with their code."""
import glob, json, os, re

cases = []  # (code, slug, bytes)

def add(code, slug, line):
    if isinstance(line, str):
        line = line.encode()
    assert b"\n" not in line, slug
    cases.append((code, slug, line))

# Truncated JSON
for i, text in enumerate(['{"op":"ping"', '{"op":"should-attempt","breaker":"a', '{"op":', '{', '"', '{"op":"ping",',
                          '{"op":"configure","breaker":"a","config":{"timeout_ms":5}', '[', 'tru', '{"op":"ping"}}',
                          '{"op":"ping"} x', '', '   ', 'not json', '{op:"ping"}', "{'op':'ping'}", '{"op":"ping",}',
                          '{"op":"ping"}//c', '{"op":"ping" /* c */}', '\ufeff{"op":"ping"}']):
    add("malformed_json", f"truncated-or-bad-syntax-{i:02}", text)
# Deep nesting: 10,000 levels, alone and inside a real request (the parser allows 32)
add("malformed_json", "nesting-10000-arrays", "[" * 10000 + "]" * 10000)
add("malformed_json", "nesting-10000-objects", '{"a":' * 10000 + "1" + "}" * 10000)
add("malformed_json", "nesting-10000-inside-request", '{"op":"ping","x":' + "[" * 10000 + "]" * 10000 + "}")
add("malformed_json", "nesting-10000-unclosed", "[" * 10000)
add("malformed_json", "nesting-33-inside-request", '{"op":"ping","x":' + "[" * 32 + "]" * 32 + "}")
# Numbers: NaN, infinities, huge, malformed
for name, num in [("nan", "NaN"), ("inf", "Infinity"), ("neg-inf", "-Infinity"), ("leading-zero", "01"),
                  ("plus", "+1"), ("dot", "1."), ("hex", "0x10"), ("bare-minus", "-"), ("exp-only", "1e")]:
    add("malformed_json", f"number-{name}", '{"op":"record-failure","breaker":"a","count":%s}' % num)
for name, num in [("1e400", "1e400"), ("2pow63", "9223372036854775808"), ("2pow64", "18446744073709551616"),
                  ("100-digits", "9" * 100), ("neg-huge", "-" + "9" * 100), ("fraction", "1.5"), ("one-point-zero", "1.0"),
                  ("exp-int", "1e2"), ("zero", "0"), ("negative", "-1"), ("over-max", "1000000001")]:
    add("bad_request", f"number-count-{name}", '{"op":"record-failure","breaker":"a","count":%s}' % num)
add("bad_request", "number-generation-huge", '{"op":"record-failure","breaker":"a","generation":%s}' % ("9" * 400))
add("bad_request", "number-timeout-1e400", '{"op":"configure","breaker":"a","config":{"timeout_ms":1e400}}')
add("bad_request", "number-id-1e400", '{"op":"ping","id":1e400}')
# Duplicate keys
add("bad_request", "duplicate-op", '{"op":"ping","op":"ping"}')
add("bad_request", "duplicate-breaker", '{"op":"should-attempt","breaker":"a","breaker":"b"}')
add("bad_request", "duplicate-in-config", '{"op":"configure","breaker":"a","config":{"timeout_ms":5,"timeout_ms":6}}')
add("bad_request", "duplicate-id", '{"op":"ping","id":1,"id":2}')
add("bad_request", "duplicate-escaped-same-key", '{"op":"ping","\\u006fp":"ping"}')
# NUL bytes
add("malformed_json", "nul-raw-in-string", b'{"op":"should-attempt","breaker":"a\x00b"}')
add("malformed_json", "nul-raw-after-object", b'{"op":"ping"}\x00')
add("malformed_json", "nul-raw-before-object", b'\x00{"op":"ping"}')
add("malformed_json", "nul-only", b'\x00')
add("invalid_name", "nul-escaped-in-name", '{"op":"should-attempt","breaker":"a\\u0000b"}')
add("unknown_op", "nul-escaped-in-op", '{"op":"ping\\u0000"}')
# Invalid UTF-8 (in a string, and outside one)
for name, raw in [("lone-continuation", b"\x80"), ("overlong-slash", b"\xc0\xaf"), ("overlong-nul", b"\xc0\x80"),
                  ("surrogate", b"\xed\xa0\x80"), ("truncated-4byte", b"\xf0\x9f\x98"), ("ff", b"\xff"),
                  ("fe", b"\xfe"), ("above-max", b"\xf4\x90\x80\x80"), ("bad-second-byte", b"\xc3\x28"),
                  ("latin1", b"\xe9")]:
    add("malformed_json", f"utf8-{name}-in-name", b'{"op":"should-attempt","breaker":"a' + raw + b'"}')
add("malformed_json", "utf8-invalid-outside-string", b'{"op":"ping"}\xff')
add("malformed_json", "utf8-invalid-in-key", b'{"op":"ping","\xc0\xaf":1}')
add("malformed_json", "escape-lone-high-surrogate", '{"op":"should-attempt","breaker":"\\ud800"}')
add("malformed_json", "escape-lone-low-surrogate", '{"op":"should-attempt","breaker":"\\udc00"}')
add("malformed_json", "escape-bad", '{"op":"should-attempt","breaker":"\\x41"}')
add("malformed_json", "raw-control-char", '{"op":"should-attempt","breaker":"a\tb"}')
add("invalid_name", "escaped-non-ascii-name", '{"op":"should-attempt","breaker":"caf\\u00e9"}')
add("invalid_name", "utf8-valid-non-ascii-name", '{"op":"should-attempt","breaker":"café"}')
# Overlong names and prefixes
add("invalid_name", "name-201-bytes", '{"op":"should-attempt","breaker":"%s"}' % ("n" * 201))
add("invalid_name", "name-60000-bytes", '{"op":"record-failure","breaker":"%s"}' % ("n" * 60000))
add("invalid_name", "name-empty", '{"op":"should-attempt","breaker":""}')
add("invalid_name", "name-space", '{"op":"should-attempt","breaker":"a b"}')
add("invalid_name", "name-sql-quote", '{"op":"configure","breaker":"a\');DROP TABLE breakers;--","config":{"timeout_ms":5}}')
add("invalid_name", "name-newline-escape", '{"op":"should-attempt","breaker":"a\\nb"}')
add("invalid_name", "name-percent-log-injection", '{"op":"should-attempt","breaker":"%n%s{}"}')
add("bad_request", "prefix-201-bytes", '{"op":"list","prefix":"%s"}' % ("p" * 201))
add("bad_request", "prefix-bad-char", '{"op":"watch","prefix":"a*"}')
add("line_too_long", "line-70000-bytes", '{"op":"ping","pad":"%s"}' % ("a" * 70000))
add("line_too_long", "name-100000-bytes", '{"op":"should-attempt","breaker":"%s"}' % ("n" * 100000))
# Unknown ops
for i, op in enumerate(["explode", "PING", "", " ping", "ping ", "record", "should_attempt", "o" * 10000]):
    add("unknown_op", f"unknown-op-{i}", json.dumps({"op": op}, separators=(",", ":")))
# Not a request object / op missing or mistyped
for i, text in enumerate(['[]', '[{"op":"ping"}]', '"ping"', '1', 'null', 'true', '{}', '{"breaker":"a"}',
                          '{"OP":"ping"}']):
    add("bad_request", f"not-a-request-{i}", text)
# Every field with every wrong type
wrong = {"int": "1", "float": "1.5", "string": '"x"', "true": "true", "null": "null", "array": "[]",
         "object": "{}", "neg": "-5"}
fields = {  # op -> {field: set of accepted kinds}
    "should-attempt": {"breaker": {"string"}},
    "record-success": {"breaker": {"string"}, "count": {"int"}, "generation": {"int"}, "permit": set()},
    "record-failure": {"breaker": {"string"}, "count": {"int"}, "generation": {"int"}, "permit": set()},
    "inspect": {"breaker": {"string"}}, "reset": {"breaker": {"string"}}, "release": {"breaker": {"string"}},
    "list": {"prefix": {"string"}}, "watch": {"prefix": {"string"}},
    "configure": {"breaker": {"string"}, "config": {"object"}},
    "auth": {"token": {"string"}}, "force-open": {"breaker": {"string"}, "reason": {"string"}},
    "history": {"breaker": {"string"}, "limit": {"int"}},
}
base = {"breaker": '"a"', "config": '{"timeout_ms":5}', "token": '"t"'}
required = {"breaker", "config", "token"}
for op, fs in fields.items():
    for field, accepted in fs.items():
        for kind, text in wrong.items():
            if kind in accepted or (kind == "string" and field == "permit"):
                continue
            if field == "breaker" and kind == "string":
                continue
            parts = ['"op":"%s"' % op]
            for other in fs:
                if other == field:
                    parts.append('"%s":%s' % (field, text))
                elif other in required:
                    parts.append('"%s":%s' % (other, base[other]))
            add("bad_request", f"type-{op}-{field}-{kind}", "{" + ",".join(parts) + "}")
for field in ["failure_threshold", "success_threshold", "timeout_ms", "half_open_max_calls", "half_open_permit_timeout_ms"]:
    for kind, text in wrong.items():
        if kind == "int":
            continue
        add("bad_request", f"type-configure-config.{field}-{kind}",
            '{"op":"configure","breaker":"a","config":{"%s":%s}}' % (field, text))
    add("bad_request", f"range-configure-config.{field}-zero", '{"op":"configure","breaker":"a","config":{"%s":0}}' % field)
    add("bad_request", f"range-configure-config.{field}-huge",
        '{"op":"configure","breaker":"a","config":{"%s":9223372036854775807}}' % field)
for kind, text in wrong.items():
    if kind in ("int", "float", "string", "neg"):
        continue
    add("bad_request", f"type-ping-id-{kind}", '{"op":"ping","id":%s}' % text)
for kind, text in wrong.items():
    if kind == "string":
        continue
    add("bad_request", f"type-any-op-{kind}", '{"op":%s,"breaker":"a"}' % text)
add("bad_request", "config-unknown-field", '{"op":"configure","breaker":"a","config":{"timeout":5}}')
add("bad_request", "permit-not-a-permit", '{"op":"record-failure","breaker":"a","permit":"nonsense"}')
# (A well-formed permit from another daemon run, "x.1.1", is not bad input: it is a stale record.)
add("bad_request", "permit-with-count", '{"op":"record-failure","breaker":"a","permit":"x.1.1","count":2}')
add("bad_request", "permit-empty", '{"op":"record-failure","breaker":"a","permit":""}')
add("bad_request", "permit-129-bytes", '{"op":"record-failure","breaker":"a","permit":"%s"}' % ("p" * 129))
for kind, text in [("int", "1"), ("null", "null"), ("array", "[]"), ("object", "{}"), ("empty", '""'),
                   ("space", '"a b"'), ("129-bytes", '"%s"' % ("k" * 129)), ("non-ascii", '"caf\\u00e9"'),
                   ("control", '"a\\u0001"')]:
    add("bad_request", f"dedupe-{kind}", '{"op":"record-failure","breaker":"a","dedupe":%s}' % text)
add("bad_request", "reason-1001-bytes", '{"op":"force-open","breaker":"a","reason":"%s"}' % ("r" * 1001))
add("bad_request", "token-4097-bytes", '{"op":"auth","token":"%s"}' % ("t" * 4097))
add("bad_request", "history-limit-1001", '{"op":"history","breaker":"existing","limit":1001}')
# Well-formed requests about breakers that do not exist: no change either
for op in ["inspect", "reset", "release", "history"]:
    add("not_found", f"missing-breaker-{op}", '{"op":"%s","breaker":"missing"}' % op)

here = os.path.dirname(os.path.abspath(__file__))
for old in glob.glob(os.path.join(here, "*.line")):
    if not os.path.basename(old).startswith("fuzz-"):
        os.remove(old)
seen = set()
for code, slug, line in cases:
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", slug)
    assert slug not in seen, slug
    seen.add(slug)
    with open(os.path.join(here, f"{code}.{slug}.line"), "wb") as f:
        f.write(line)
print(f"{len(cases)} cases")
