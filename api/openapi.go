package api

import (
	_ "embed" // the OpenAPI document
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/evidenced/evidenced/ledger"
)

// openAPIDoc is the OpenAPI 3.0 description of the API, served at GET
// /v1/openapi.json. Enumerations of transaction types are not written in
// it: each is a marker, "x-evidenced-enum": "NAME", which OpenAPI replaces
// with the enum derived from the ledger's registry of transaction types
// (see enumOf), so a new type needs no edit here.
//
//go:embed openapi.json
var openAPIDoc string

// enumMarker matches a derived-enum marker in the document.
var enumMarker = regexp.MustCompile(`"x-evidenced-enum": "([a-z-]+)"`)

// EnumNames are the derived enumerations the OpenAPI document may name.
var EnumNames = []string{"entry-types", "submitted-types", "record-types", "event-types"}

// enumOf returns the values of a derived enumeration, from the ledger's
// registry of transaction types: the types whose transactions are log
// entries, those members submit, those carrying evidence records, and the
// event types (entry types and checkpoint).
func enumOf(name string) ([]string, error) {
	var out []string
	for _, t := range ledger.TxTypes() {
		var in bool
		switch name {
		case "entry-types", "event-types":
			in = t.Entry()
		case "submitted-types":
			in = t.Origin == ledger.OriginMember
		case "record-types":
			in = t.CarriesRecords()
		default:
			return nil, fmt.Errorf("the OpenAPI document names an enum %q; the derived ones are %s", name, strings.Join(EnumNames, ", "))
		}
		if in {
			out = append(out, t.Name)
		}
	}
	if name == "event-types" {
		out = append(out, EventCheckpoint)
	}
	return out, nil
}

// OpenAPI returns the OpenAPI 3.0 document served at GET /v1/openapi.json,
// with its enumerations of transaction types derived from the ledger's
// registry. It fails only if the embedded document names an enumeration
// enumOf does not know (a test reads the document).
func OpenAPI() ([]byte, error) {
	var err error
	doc := enumMarker.ReplaceAllStringFunc(strings.TrimSpace(openAPIDoc), func(m string) string {
		values, e := enumOf(enumMarker.FindStringSubmatch(m)[1])
		if e != nil {
			err = e
			return m
		}
		b, e := json.Marshal(values)
		if e != nil {
			err = e
		}
		return `"enum": ` + string(b)
	})
	return []byte(doc), err
}
