package sidecar_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/evidenced/evidenced/sidecar"
)

// A client draws a salt, commits to the original while streaming it, and
// keeps the salt in the sidecar; later anyone holding the sidecar and the
// original recomputes the commitment.
func Example() {
	// Normally crypto/rand.Reader; fixed here so the output is stable.
	salt, err := sidecar.NewSalt(bytes.NewReader(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		panic(err)
	}
	original := "借款协议 LOAN-2026-000001"
	commitment, size, err := sidecar.Commit(salt, strings.NewReader(original))
	if err != nil {
		panic(err)
	}
	data, err := sidecar.Format(&sidecar.File{Version: sidecar.Version, Name: "contract.pdf", Size: size, Salt: salt,
		Commitment: commitment, Chain: "LOAN-2026-000001", Step: 3, Kind: "loan-contract", Status: sidecar.StatusPending})
	if err != nil {
		panic(err)
	}

	sc, err := sidecar.Parse(data)
	if err != nil {
		panic(err)
	}
	again, _, err := sidecar.Commit(sc.Salt, strings.NewReader(original))
	if err != nil {
		panic(err)
	}
	fmt.Println(sidecar.Path("contract.pdf"))
	fmt.Println(sc.Size, again == sc.Commitment)
	fmt.Println(commitment)
	// Output:
	// contract.pdf.evidence.json
	// 29 true
	// 6c0a95a80e4efe3ea8ca37b00492daccccd9053a6978a4e6936db47afc9c0d66
}
