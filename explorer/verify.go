package explorer

import (
	"net/http"

	"github.com/evidenced/evidenced/receipt"
)

// verifyKeys are the keys of the verify page's i18n JSON (read by
// assets/verify.js); the catalog holds each as "verify.KEY".
func verifyKeys() []string {
	keys := []string{
		"step_roster", "step_roster_path", "step_file", "step_record", "step_attestation", "step_checkpoint", "step_inclusion", "step_signatures", "step_time",
		// The file step of an attestation's receipt checks its document.
		"ok_file_document",
		"pass", "fail", "skipped", "verdict_ok", "verdict_fail", "loading", "need_receipt",
		"roster_node", "roster_file", "bad_receipt", "error", "local_only",
		// What a file dropped on the drop zone was taken for (verify.js).
		"as_receipt", "as_file", "as_roster", "as_sidecar",
	}
	// A sentence for each passed step and each reason a step failed or was
	// skipped (receipt.Step.Reason), with {fact} placeholders.
	for _, s := range receipt.AllSteps() {
		keys = append(keys, "ok_"+s)
	}
	for _, r := range receipt.Reasons() {
		keys = append(keys, "why_"+r)
	}
	return keys
}

// verifyData is the verify page.
type verifyData struct {
	Record *recordRef        // the record of ?id=, whose receipt the page offers
	I18N   map[string]string // the strings verify.js shows, in the page language
}

// verify is the verify page: the checks run in the browser
// (assets/verify.js with the WebAssembly verifier); the file never leaves
// it.
func (s *server) verify(rq *request) error {
	d := &verifyData{I18N: map[string]string{}}
	if id := rq.r.URL.Query().Get("id"); id != "" {
		ref, ok := parseRecordID(id)
		if !ok {
			return badRequest("err.bad_record", id)
		}
		d.Record = &ref
	}
	for _, k := range verifyKeys() {
		d.I18N[k] = rq.T("verify." + k)
	}
	rq.render(http.StatusOK, "verify", rq.T("verify.title"), d)
	return nil
}
