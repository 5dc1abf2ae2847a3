package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// TestRegistry walks the ledger's registry of transaction types and checks
// that the API derives everything about each from it: the JSON form of an
// entry of the type (its details under the type's key, valid against the
// OpenAPI Entry schema, read back by the client), the event types and
// filters, and the OpenAPI enumerations. A type missing from any of them
// fails here.
func TestRegistry(t *testing.T) {
	f := newFixture(t)
	doc := openAPIDoc(t, f.evidenceHandler(api.Options{}, false))
	entrySchema, err := resolve(doc, "#/components/schemas/Entry")
	if err != nil {
		t.Fatal(err)
	}
	enum := func(ref, prop string) []string {
		t.Helper()
		s, err := resolve(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		p := s["properties"].(map[string]any)[prop].(map[string]any)
		if p["type"] == "array" {
			p = p["items"].(map[string]any)
		}
		var out []string
		for _, v := range asSlice(p["enum"]) {
			out = append(out, v.(string))
		}
		if len(out) == 0 {
			t.Fatalf("%s.%s has no enum", ref, prop)
		}
		return out
	}
	entryTypes := enum("#/components/schemas/Entry", "type")
	submitted := enum("#/components/schemas/SubmitResult", "type")
	recordTypes := enum("#/components/schemas/ReceiptRecord", "type")
	eventTypes := enum("#/components/schemas/WebhookRequest", "types")
	if !slices.Equal(eventTypes, api.EventTypes()) {
		t.Errorf("the OpenAPI event types %v are not api.EventTypes() %v", eventTypes, api.EventTypes())
	}
	signer := crypto.KeyID(crypto.SM3([]byte("example signer")))

	types := ledger.TxTypes()
	if len(types) < 8 {
		t.Fatalf("the registry holds %d types", len(types))
	}
	for _, info := range types {
		t.Run(info.Name, func(t *testing.T) {
			if ledger.TxTypeNamed(info.Name) != info || info.Type.String() != info.Name || info.Type.Info() != info {
				t.Fatalf("the registry does not find %s by name and number", info.Name)
			}
			if info.Title == "" || info.Doc == "" || info.Example == nil {
				t.Errorf("%s lacks a title, doc or example", info.Name)
			}
			if info.Origin == ledger.OriginMember && (len(info.Roles) == 0 || (len(info.Roles) < 5 && info.RoleRule == "")) {
				t.Errorf("%s: members submit it, but no roles or role rule are given", info.Name)
			}
			if got := slices.Contains(submitted, info.Name); got != (info.Origin == ledger.OriginMember) {
				t.Errorf("%s in the OpenAPI submitted types: %v", info.Name, got)
			}
			if got := slices.Contains(recordTypes, info.Name); got != info.CarriesRecords() {
				t.Errorf("%s in the OpenAPI record types: %v", info.Name, got)
			}
			if !info.Entry() {
				// (The checkpoint event is the trusted checkpoint a block
				// committed, not a transaction of the type.)
				if slices.Contains(entryTypes, info.Name) {
					t.Errorf("%s is no log entry, yet an entry type", info.Name)
				}
				// (A StateOnly member transaction, the timestamp, keeps
				// its details: the submit and block views show it.)
				if !info.StateOnly && (info.Example().Details() != nil || info.JSONKey != "") {
					t.Errorf("%s is no log entry, yet has details to show", info.Name)
				}
				return
			}
			if !slices.Contains(entryTypes, info.Name) || !slices.Contains(eventTypes, info.Name) {
				t.Errorf("%s is missing from the OpenAPI entry types %v or event types %v", info.Name, entryTypes, eventTypes)
			}
			if _, err := api.NewEventFilter([]string{info.Name}, "", ""); err != nil {
				t.Errorf("event filter on %s: %v", info.Name, err)
			}

			// The entry's JSON.
			raw := ledgertest.ExampleEntry(info, signer)
			e, err := api.NewEntry(3, raw, func(*ledger.Tx) (string, error) { return "bank-a", nil })
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			if m["type"] != info.Name {
				t.Errorf("JSON type %v, want %s", m["type"], info.Name)
			}
			d := info.Example().Details()
			switch {
			case d == nil && info.JSONKey != "":
				t.Errorf("%s has a JSON key %q but no details", info.Name, info.JSONKey)
			case d != nil && info.JSONKey == "":
				t.Errorf("%s has details but no JSON key", info.Name)
			case d != nil && m[info.JSONKey] == nil:
				t.Errorf("the JSON of a %s entry has no %q: %s", info.Name, info.JSONKey, b)
			case d != nil && entrySchema["properties"].(map[string]any)[info.JSONKey] == nil:
				t.Errorf("the OpenAPI Entry schema has no property %q for %s details", info.JSONKey, info.Name)
			}
			if info.CarriesRecords() != (m["records"] != nil) {
				t.Errorf("records in the JSON of a %s entry: %v", info.Name, m["records"])
			}
			if errs := validate(doc, entrySchema, m, "entry"); len(errs) > 0 {
				t.Errorf("the JSON of a %s entry does not match the OpenAPI Entry schema: %v\n%s", info.Name, errs, b)
			}

			// The client reads it back, details included.
			var back client.Entry
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Details, e.Details) || len(back.Records) != len(e.Records) {
				t.Errorf("client read details %#v, want %#v", back.Details, e.Details)
			}
			again, err := json.Marshal(back)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("client re-encodes the entry as\n%s\nwant\n%s (%v)", again, b, err)
			}

			// An event filter on a chain selects the entries naming it
			// (in a record or a field of the details), and no other.
			var chains []string
			for _, r := range e.Records {
				chains = append(chains, r.Chain)
			}
			if d != nil {
				for _, f := range d.Fields() {
					if f.Kind == ledger.FieldChain {
						chains = append(chains, f.Value.(string))
					}
				}
			}
			for _, c := range chains {
				if f, _ := api.NewEventFilter(nil, c, ""); !f.Matches(e) {
					t.Errorf("a filter on chain %s does not select the %s entry naming it", c, info.Name)
				}
			}
			if f, _ := api.NewEventFilter(nil, "NO-SUCH-CHAIN", ""); f.Matches(e) {
				t.Errorf("a filter on another chain selects the %s entry", info.Name)
			}
		})
	}
}
