package explorer_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
)

// verbs returns the fmt verbs of a catalog text, in order.
func verbs(s string) []string {
	return regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`).FindAllString(s, -1)
}

func TestCatalogComplete(t *testing.T) {
	cat := explorer.Catalog()
	zh, en := cat["zh"], cat["en"]
	if len(cat) != 2 || len(zh) == 0 {
		t.Fatalf("catalog languages: %d", len(cat))
	}
	for k, v := range zh {
		e, ok := en[k]
		if !ok {
			t.Errorf("key %s is in zh, not in en", k)
			continue
		}
		if v == "" || e == "" {
			t.Errorf("key %s is empty", k)
		}
		if a, b := verbs(v), verbs(e); !slices.Equal(a, b) {
			t.Errorf("key %s takes %v in zh, %v in en", k, a, b)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %s is in en, not in zh", k)
		}
	}

	// Every key the templates and the Go code name.
	used := map[string]string{}
	tkey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(explorer.TemplatesFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(explorer.TemplatesFS, p)
		for _, m := range tkey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	gokey := regexp.MustCompile(`(?:\.T|notFound|badRequest)\("([a-z0-9_.]+)"|(?:key|Kind|linkKey)(?:\s*=|:)\s*"([a-z0-9_.]+)"|, "(err\.[a-z0-9_.]+)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range gokey.FindAllStringSubmatch(string(b), -1) {
			for _, k := range m[1:] {
				if k != "" && !strings.HasSuffix(k, ".") {
					used[k] = p
				}
			}
		}
	}
	// Keys made at run time.
	for ty := ledger.TxType(1); ty <= ledger.TxAccess; ty++ {
		used["type."+ty.String()] = "ledger.TxType"
	}
	for r := ledger.RoleBank; r <= ledger.RoleRegulator; r++ {
		used["role."+r.String()] = "ledger.Role"
	}
	for k := ledger.ChangeAdd; k <= ledger.ChangeSetRole; k++ {
		used["change."+k.String()] = "ledger.ChangeKind"
	}
	for st := ledger.ProposalOpen; st <= ledger.ProposalExpired; st++ {
		used["status."+st.String()] = "ledger.ProposalStatus"
	}
	for _, d := range []ledger.Decision{ledger.Approve, ledger.Reject} {
		used["decision."+d.String()] = "ledger.Decision"
	}
	for _, s := range []string{"400", "404", "405", "500", "503"} {
		used["err.title."+s] = "statusKey"
	}
	for _, k := range explorer.VerifyKeys() {
		used["verify."+k] = "verifyKeys"
	}
	if len(used) < 150 {
		t.Errorf("found only %d keys in use: the scan is broken", len(used))
	}
	for k, where := range used {
		if _, ok := zh[k]; !ok {
			t.Errorf("%s uses key %s, which the catalog lacks", where, k)
		}
	}
}
