package ledger_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

func bodyRecord(chain string) ledger.Record {
	return ledger.Record{Kind: "loan-contract", Chain: chain, Step: 1, Commitment: crypto.SM3([]byte(chain)), Size: 3,
		Labels: []ledger.Label{{Key: "product", Value: "consumer-loan"}}}
}

func TestEvidenceBody(t *testing.T) {
	rec := bodyRecord("LOAN-1")
	b, err := ledger.EvidenceBody(chainID, 42, rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Type() != ledger.TxEvidence || b.ChainID != chainID || b.Time != 42 || b.Signer != (crypto.KeyID{}) ||
		!reflect.DeepEqual(b.EvidenceRecords(), []ledger.Record{rec}) {
		t.Errorf("EvidenceBody = %+v", b)
	}
	// The body is what a signed transaction carries.
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ledger.SignTx(k, rand.Reader, b)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil || tx.Body.Type() != ledger.TxEvidence || !reflect.DeepEqual(tx.Body.EvidenceRecords(), []ledger.Record{rec}) {
		t.Errorf("signed body decodes to %+v, %v", tx, err)
	}
}

func TestBatchBody(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		recs := make([]ledger.Record, n)
		for i := range recs {
			recs[i] = bodyRecord(fmt.Sprintf("DAY-1.%d", i+1))
		}
		b, err := ledger.BatchBody(chainID, 7, recs)
		if err != nil {
			t.Fatal(err)
		}
		// A batch of one record stays a batch.
		if b.Type() != ledger.TxBatch || b.Time != 7 || !reflect.DeepEqual(b.EvidenceRecords(), recs) {
			t.Errorf("BatchBody of %d = %+v", n, b)
		}
	}
}

func TestEvidenceBodyRejects(t *testing.T) {
	bad := bodyRecord("LOAN-1")
	bad.Commitment = crypto.Hash{}
	for _, tc := range []struct {
		name  string
		build func() (*ledger.Body, error)
		code  ledger.Code
		msg   string
	}{
		{"zero commitment", func() (*ledger.Body, error) { return ledger.EvidenceBody(chainID, 1, bad) }, ledger.CodeMalformed, "commitment is zero"},
		{"bad chain id", func() (*ledger.Body, error) { return ledger.EvidenceBody("", 1, bodyRecord("LOAN-1")) }, ledger.CodeMalformed, "chain id"},
		{"empty batch", func() (*ledger.Body, error) { return ledger.BatchBody(chainID, 1, nil) }, ledger.CodeMalformed, "batch holds no records"},
		{"bad record in a batch", func() (*ledger.Body, error) {
			return ledger.BatchBody(chainID, 1, []ledger.Record{bodyRecord("A"), bad})
		}, ledger.CodeMalformed, "record 1"},
		{"batch too large", func() (*ledger.Body, error) {
			return ledger.BatchBody(chainID, 1, make([]ledger.Record, ledger.MaxBatchRecords+1))
		}, ledger.CodeBatchTooLarge, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build()
			var rej *ledger.RejectError
			if !errors.As(err, &rej) || rej.Code != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("= %+v, %v; want a %s rejection containing %q", b, err, tc.code, tc.msg)
			}
		})
	}
}

func TestLabelsFromMap(t *testing.T) {
	got, err := ledger.LabelsFromMap(map[string]string{"product": "consumer-loan", "channel": "app", "empty": ""})
	want := []ledger.Label{{Key: "channel", Value: "app"}, {Key: "empty", Value: ""}, {Key: "product", Value: "consumer-loan"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("LabelsFromMap = %v, %v; want %v", got, err, want)
	}
	if back := ledger.LabelMap(got); !reflect.DeepEqual(back, map[string]string{"product": "consumer-loan", "channel": "app", "empty": ""}) {
		t.Errorf("LabelMap(LabelsFromMap(m)) = %v", back)
	}
	if got, err := ledger.LabelsFromMap(nil); got != nil || err != nil {
		t.Errorf("LabelsFromMap(nil) = %v, %v; want nil, nil", got, err)
	}
	if m := ledger.LabelMap(nil); m != nil {
		t.Errorf("LabelMap(nil) = %v, want nil", m)
	}
	many := map[string]string{}
	for i := range ledger.MaxLabels + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name string
		m    map[string]string
		want string
	}{
		{"too many", many, "17 labels, more than the 16 a record may carry"},
		{"upper-case key", map[string]string{"Name": "x"}, `label key "Name": use 1 to 32 lowercase letters`},
		{"empty key", map[string]string{"": "x"}, `label key ""`},
		{"first bad key in key order", map[string]string{"b": "\x00", "a": "上海\n"}, "label a value holds the control character U+000A"},
		{"long value", map[string]string{"a": strings.Repeat("v", ledger.MaxLabelValueLen+1)}, "label a value is 129 bytes, more than 128"},
		{"invalid UTF-8", map[string]string{"a": "\xff"}, "label a value is not valid UTF-8"},
		{"bidi override", map[string]string{"a": "\u202e"}, "label a value holds the control character U+202E"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ledger.LabelsFromMap(tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LabelsFromMap = %v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
	// What LabelsFromMap accepts, a record accepts.
	ok := map[string]string{"a": strings.Repeat("~", ledger.MaxLabelValueLen), strings.Repeat("k", ledger.MaxLabelKeyLen): " ", "region": "上海", "nfd": "cafe\u0301"}
	labels, err := ledger.LabelsFromMap(ok)
	if err != nil {
		t.Fatal(err)
	}
	rec := bodyRecord("LOAN-1")
	rec.Labels = labels
	if _, err := ledger.EvidenceBody(chainID, 1, rec); err != nil {
		t.Errorf("a record with labels LabelsFromMap accepted: %v", err)
	}
}
