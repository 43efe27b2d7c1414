"""Validates JSON documents against draft-07 JSON Schemas with Debian's
python3-jsonschema, for tests/integration/json_schema_test.cpp.

  validate_json.py SCHEMA_DIR SCHEMA DOCUMENT   errors of DOCUMENT against SCHEMA
  validate_json.py SCHEMA_DIR SCHEMA            errors of SCHEMA itself

A "$ref" to another file ("profile.schema.json") names a schema of
SCHEMA_DIR, wherever SCHEMA is. Prints one error per line as
"/json/pointer: message"; exits 0 when there is none, 1 when there are.
Any other exit status is a failure of the check itself.
"""
import json
import pathlib
import sys

import jsonschema


def main():
    schema_dir = pathlib.Path(sys.argv[1]).resolve()
    schema = json.loads(pathlib.Path(sys.argv[2]).read_text())
    store = {}
    for path in schema_dir.glob("*.schema.json"):
        store[path.as_uri()] = json.loads(path.read_text())
    if len(sys.argv) == 3:
        problems = [e.message for e in jsonschema.Draft7Validator(
            jsonschema.Draft7Validator.META_SCHEMA).iter_errors(schema)]
    else:
        resolver = jsonschema.RefResolver(base_uri=schema_dir.as_uri() + "/",
                                          referrer=schema, store=store)
        validator = jsonschema.Draft7Validator(schema, resolver=resolver)
        document = json.loads(pathlib.Path(sys.argv[3]).read_text())
        problems = []
        for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
            problems.append("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
