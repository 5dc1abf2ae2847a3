package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in      []string
		want    string // "k=v;k=v" in order
		wantErr string
	}{
		{nil, "", ""},
		{[]string{"product=consumer-loan"}, "product=consumer-loan", ""},
		{[]string{"z=1", "a=2", "m="}, "a=2;m=;z=1", ""},
		{[]string{"k=a=b"}, "k=a=b", ""},
		{[]string{"novalue"}, "", "want key=value"},
		{[]string{"=v"}, "", "want key=value"},
		{[]string{"a=1", "a=2"}, "", "given twice"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ","), func(t *testing.T) {
			got, err := parseLabels(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(got))
			for i, l := range got {
				parts[i] = l.Key + "=" + l.Value
			}
			if s := strings.Join(parts, ";"); s != tt.want {
				t.Errorf("parseLabels = %q, want %q", s, tt.want)
			}
		})
	}
}

// FuzzParseLabels checks that parsed labels are sorted with unique keys and
// that formatting them back as key=value flags parses to the same labels.
func FuzzParseLabels(f *testing.F) {
	f.Add("product=consumer-loan\nchannel=app")
	f.Add("a=1\na=2")
	f.Add("k=a=b\n=x\nnovalue")
	f.Fuzz(func(t *testing.T, in string) {
		labels, err := parseLabels(strings.Split(in, "\n"))
		if err != nil {
			return
		}
		flags := make([]string, len(labels))
		for i, l := range labels {
			if l.Key == "" || (i > 0 && labels[i-1].Key >= l.Key) {
				t.Fatalf("labels not strictly sorted by non-empty key: %q", labels)
			}
			flags[i] = l.Key + "=" + l.Value
		}
		again, err := parseLabels(flags)
		if err != nil || !reflect.DeepEqual(again, labels) {
			t.Fatalf("round trip: %q -> %q, %v", labels, again, err)
		}
	})
}
