package explorer

import (
	"fmt"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// An entry's details (what its transaction carries beyond its records) are
// shown without knowing its type: its ledger.Details give the fields, each
// of a ledger.FieldKind that says how to show it and what it links to, and
// the one-line summary of entry lists. The labels are "field.NAME" in the
// catalog, the summaries "row.TYPE"; the English catalog derives what it
// lacks from the ledger's registry (registryCatalogEN).

// detailsData is the details section of an entry's page.
type detailsData struct {
	ID     string // element id: "tx-" and the type's JSON key
	Fields []fieldRow
}

// fieldRow is one field of an entry's details, ready for the template.
type fieldRow struct {
	Label string
	Form  string // text, ident, number, time, hash, member, role, chain, records, entry or keys
	Text  string // text, ident, number, member, chain
	Role  ledger.Role
	Time  time.Time
	Hash  crypto.Hash
	Refs  []recordRef
	Entry uint64
	Keys  []keyRow
}

// fieldKinds names each ledger.FieldKind for the template.
var fieldKinds = [...]string{
	ledger.FieldText: "text", ledger.FieldIdent: "ident", ledger.FieldNumber: "number", ledger.FieldTime: "time",
	ledger.FieldHash: "hash", ledger.FieldMember: "member", ledger.FieldRole: "role", ledger.FieldChain: "chain",
	ledger.FieldRecords: "records", ledger.FieldEntry: "entry", ledger.FieldKeys: "keys",
}

// details describes the details of entry e for its page, in rq's language;
// nil when it has none. Private fields (free text a member wrote) are left
// out.
func (rq *request) details(e *client.Entry) *detailsData { return rq.detailsOf(e.Type, e.Details) }

// detailsOf describes details dt of an entry of type typ (its name).
func (rq *request) detailsOf(typ string, dt ledger.Details) *detailsData {
	if dt == nil {
		return nil
	}
	d := &detailsData{ID: "tx-details"}
	if info := ledger.TxTypeNamed(typ); info != nil && info.JSONKey != "" {
		d.ID = "tx-" + info.JSONKey
	}
	for _, f := range dt.Fields() {
		if f.Private {
			continue
		}
		d.Fields = append(d.Fields, rq.fieldRow(f))
	}
	return d
}

// fieldRow converts one field.
func (rq *request) fieldRow(f ledger.Field) fieldRow {
	r := fieldRow{Label: rq.T("field." + f.Name), Form: "text"}
	if int(f.Kind) < len(fieldKinds) && fieldKinds[f.Kind] != "" {
		r.Form = fieldKinds[f.Kind]
	}
	switch v := f.Value.(type) {
	case string:
		r.Text = v
	case uint64:
		r.Text, r.Entry = fmt.Sprint(v), v
	case ledger.Role:
		r.Role = v
	case time.Time:
		r.Time = v.UTC()
	case crypto.Hash:
		r.Hash = v
	case []ledger.RecordRef:
		for _, ref := range v {
			r.Refs = append(r.Refs, refOf(ref))
		}
	case []ledger.HexBytes:
		for _, k := range v {
			r.Keys = append(r.Keys, keyRow{ID: crypto.KeyID(crypto.SM3(k)), Public: k.String()})
		}
	default:
		r.Form, r.Text = "text", f.Text()
	}
	return r
}

// summary is the one-line description of entry e in lists, in rq's
// language; "" when it has no details.
func (rq *request) summary(e *client.Entry) string {
	if e.Details == nil {
		return ""
	}
	format, args := e.Details.Summary()
	if m, ok := rq.msgs["row."+e.Type]; ok {
		format = m
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = rq.argValue(a)
	}
	return fmt.Sprintf(format, vals...)
}

// namedFields are the summary fields whose values the catalog names, by
// the catalog prefix: a proposal's change kind, a vote's decision.
var namedFields = map[string]string{"change": "change.", "decision": "decision."}

// argValue is a summary argument as text (roles, change kinds and
// decisions translated, record refs as their ids), or a number for a %d.
func (rq *request) argValue(f ledger.Field) any {
	if prefix, ok := namedFields[f.Name]; ok {
		if v, ok := f.Value.(string); ok {
			return rq.name(prefix, v)
		}
	}
	switch v := f.Value.(type) {
	case uint64:
		return v
	case ledger.Role:
		return rq.name("role.", v.String())
	case []ledger.RecordRef:
		ids := make([]string, len(v))
		for i, r := range v {
			ids[i] = r.String()
		}
		return strings.Join(ids, ", ")
	}
	return f.Text()
}

// registryCatalogEN is what the English catalog derives from the ledger's
// registry of transaction types: each type's title ("type.NAME"), the
// format of its summary ("row.NAME"), and a label for each field of its
// details ("field.NAME", its name in words). The Chinese catalog must have
// every one of these keys (TestCatalogComplete), so a new transaction type
// shows untranslated nowhere.
func registryCatalogEN() map[string]string {
	m := map[string]string{}
	for _, t := range ledger.TxTypes() {
		m["type."+t.Name] = t.Title
		d := t.Example().Details()
		if d == nil {
			continue
		}
		if format, _ := d.Summary(); format != "" {
			m["row."+t.Name] = format
		}
		for _, f := range d.Fields() {
			if !f.Private {
				m["field."+f.Name] = strings.ToUpper(f.Name[:1]) + strings.ReplaceAll(f.Name[1:], "_", " ")
			}
		}
	}
	return m
}
