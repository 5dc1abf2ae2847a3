package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/crypto"
)

func ExampleStore_Seal() {
	dir, err := os.MkdirTemp("", "blobs")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := blob.Open(dir)
	if err != nil {
		panic(err)
	}

	// The owner seals an original under a fresh data key and salt; the
	// commitment and the address go on chain, the key is wrapped to the
	// owner and grantees, the salt is kept with the original.
	original := "LOAN-0001 借款协议: 12 instalments, 等额本息"
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	salt := make([]byte, crypto.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	res, err := s.Seal(context.Background(), strings.NewReader(original), key, salt, 1<<30)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.PlainSize, res.CipherSize, s.Has(res.Address))
	fmt.Println(res.Commitment == crypto.Commitment(salt, []byte(original)))

	// A grantee with the key decrypts it and checks it against the
	// commitment recorded on chain.
	var out bytes.Buffer
	if _, err := s.DecryptCommitted(res.Address, key, salt, res.Commitment, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.String())
	// Output:
	// 52 87 true
	// true
	// LOAN-0001 借款协议: 12 instalments, 等额本息
}
