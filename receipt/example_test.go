package receipt_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/evidenced/evidenced/receipt"
)

// ExampleVerify checks a receipt offline against the alliance roster and
// the original file, as a court's expert would.
func ExampleVerify() {
	rb, err := os.ReadFile("testdata/example-receipt.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ob, err := os.ReadFile("testdata/example-roster.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := receipt.Parse(rb)
	if err != nil {
		fmt.Println(err)
		return
	}
	roster, err := receipt.ParseRoster(ob)
	if err != nil {
		fmt.Println(err)
		return
	}
	original, err := os.Open("testdata/example-original.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer original.Close()

	// The receipt carries the salt (record.salt); VerifyOptions.Salt would
	// supply it otherwise.
	rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: original})
	for _, s := range rep.Steps {
		fmt.Printf("%-11s ok=%v %s\n", s.Name, s.OK, strings.SplitN(s.Detail, ",", 2)[0])
	}
	fmt.Println("verified:", rep.OK)
	// Output:
	// roster      ok=true the roster is of chain "evidenced-test"
	// roster_path ok=false not needed: the roster given signed the checkpoint
	// file        ok=true SM3(salt ‖ file) over the 98-byte file is 144739871321a531df95564b763c929dfcac006a7e64a05c59b5d74e2ccf95b1
	// record      ok=true the leaf holds record 0 of evidence transaction afcb3aa39c1d02b2d3f26a1053214d787ce224a63048d2138074b19b215649de (loan-contract "LOAN-2026-000001" step 1
	// checkpoint  ok=true the checkpoint is of chain "evidenced-test"
	// inclusion   ok=true the inclusion proof (3 hashes) leads from entry 6
	// signatures  ok=true valid signatures from 4 members (arbitration
	// time        ok=false not checked: the receipt carries no timestamp token (no TSA had stamped a checkpoint holding the record when it was fetched: fetch it again later)
	// verified: true
}
