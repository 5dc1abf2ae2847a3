package crypto_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/evidenced/evidenced/crypto"
)

func ExampleGenerateKey() {
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	pub := k.Public()
	fmt.Println(len(pub.Bytes()), len(pub.ID().String()), len(pub.ID().Short()))
	// Output: 65 64 16
}

func ExamplePrivateKey_Sign() {
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	msg := []byte("LOAN-0001 step 3: loan agreement signed")
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(k.Public().Verify(msg, sig))
	fmt.Println(k.Public().Verify([]byte("LOAN-0001 step 3: altered"), sig))
	// Output:
	// <nil>
	// invalid SM2 signature
}

func ExampleSeal() {
	owner, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	// Seal an original under a fresh data key and wrap the key to its owner.
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	wrapped, err := owner.Public().WrapKey(rand.Reader, key)
	if err != nil {
		panic(err)
	}
	var sealed bytes.Buffer
	if _, err := crypto.Seal(&sealed, strings.NewReader("the original contract"), key, rand.Reader); err != nil {
		panic(err)
	}

	// Later: the owner unwraps the key and opens the stream.
	key2, err := owner.UnwrapKey(wrapped)
	if err != nil {
		panic(err)
	}
	var original bytes.Buffer
	n, err := crypto.Open(&original, &sealed, key2)
	if err != nil {
		panic(err)
	}
	fmt.Println(n, original.String())
	// Output: 21 the original contract
}

func ExampleSM3() {
	fmt.Println(crypto.SM3([]byte("abc")))
	// Output: 66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0
}
