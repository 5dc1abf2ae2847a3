package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// unsignedVersion is the version of the body.json format.
const unsignedVersion = 1

// Names of the files tx build writes into its --out directory.
const (
	bodyBinName  = "body.bin"  // the exact body bytes: the message to sign
	bodyJSONName = "body.json" // unsignedTx: the decoded body and how to sign it
)

// sm2UserID is the SM2 user id (distinguishing identifier) every evidenced
// signature uses: the GM/T 0009 default.
const sm2UserID = "1234567812345678"

// unsignedTx is body.json: what tx build wrote, for the person who signs
// and for tx attach, which refuses a body.bin whose SM3 is not TxID.
type unsignedTx struct {
	Version    int               `json:"version"`
	TxID       crypto.Hash       `json:"tx_id"` // SM3(body.bin): the id the signed transaction will have
	BodySize   int               `json:"body_size"`
	ChainID    string            `json:"chain_id"` // the alliance chain id the body names
	Type       string            `json:"type"`
	Signer     crypto.KeyID      `json:"signer"`               // key id the body names: SM3 of the 65-byte public key
	PublicKey  client.HexBytes   `json:"public_key,omitempty"` // the signer's public key, when tx build was given --pub
	ClientTime time.Time         `json:"client_time"`          // the body's client time (UTC)
	Records    []unsignedRecord  `json:"records"`
	Details    json.RawMessage   `json:"details,omitempty"` // what a body without records says (a proposal, a vote), as GET /v1/entries shows it
	Sign       *signInstructions `json:"sign"`
}

// unsignedRecord is one record of the body with the file it commits to.
type unsignedRecord struct {
	Pos        uint16            `json:"pos"`
	Kind       string            `json:"kind"`
	Chain      string            `json:"chain"`
	Step       uint32            `json:"step"`
	Prev       crypto.Hash       `json:"prev,omitzero"`
	Commitment crypto.Hash       `json:"commitment"`
	Size       uint64            `json:"size"`
	Labels     map[string]string `json:"labels,omitempty"`
	File       string            `json:"file"`    // absolute path of the original
	Sidecar    string            `json:"sidecar"` // absolute path of its FILE.evidence.json, holding the salt
}

// signInstructions says how to make the signature tx attach accepts.
type signInstructions struct {
	Algorithm string      `json:"algorithm"`
	UserID    string      `json:"user_id"`
	Message   string      `json:"message"`
	Digest    crypto.Hash `json:"digest,omitzero"` // e = SM3(Z_A ‖ body.bin), for signers that take a precomputed digest
	Signature string      `json:"signature"`
	OpenSSL   string      `json:"openssl"`
	Attach    string      `json:"attach"`
	Deadline  string      `json:"deadline"`
}

// newUnsignedTx describes body (whose exact bytes are bodyBytes) for
// body.json. pub is the signer's key when known; files are the originals in
// record order; dir is where body.bin is.
func newUnsignedTx(body *ledger.Body, bodyBytes []byte, pub *crypto.PublicKey, files []evidenceFile, dir string) (*unsignedTx, error) {
	recs := body.EvidenceRecords()
	if len(recs) != len(files) {
		return nil, fmt.Errorf("internal error: %d records for %d files", len(recs), len(files))
	}
	u := &unsignedTx{Version: unsignedVersion, TxID: crypto.SM3(bodyBytes), BodySize: len(bodyBytes), ChainID: body.ChainID,
		Type: body.Type().String(), Signer: body.Signer, ClientTime: time.Unix(0, body.Time).UTC()}
	for i, r := range recs {
		// Absolute paths, so that tx attach finds the sidecars from any directory.
		file, err := filepath.Abs(files[i].path)
		if err != nil {
			return nil, fmt.Errorf("evidence file: %w", err)
		}
		u.Records = append(u.Records, unsignedRecord{Pos: uint16(i), Kind: r.Kind, Chain: r.Chain, Step: r.Step, Prev: r.Prev,
			Commitment: r.Commitment, Size: r.Size, Labels: ledger.LabelMap(r.Labels), File: file, Sidecar: sidecar.Path(file)})
	}
	if len(recs) == 0 {
		d, err := json.Marshal(body.Payload.Details())
		if err != nil {
			return nil, fmt.Errorf("describe the body: %w", err)
		}
		u.Details = d
	}
	bin := filepath.Join(dir, bodyBinName)
	sig := filepath.Join(dir, "sig.der")
	pubArg := "--pub SIGNER.pub.pem"
	u.Sign = &signInstructions{
		Algorithm: "SM2 signature with SM3 (GB/T 32918.2, GM/T 0003.2)",
		UserID:    sm2UserID + " (the default SM2 user id)",
		Message:   "the exact " + fmt.Sprint(len(bodyBytes)) + " bytes of " + bin + ", not a hash of them",
		Signature: "DER SEQUENCE { INTEGER r, INTEGER s }, minimally encoded, written raw (not PEM, not base64, not r‖s) to a file",
		OpenSSL: "openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:" + sm2UserID +
			" -inkey SIGNER.key.pem -in " + shellQuote(bin) + " -out " + shellQuote(sig),
		Deadline: fmt.Sprintf("submit the signed transaction within the alliance's time window (%s unless genesis sets another) of %s",
			time.Duration(ledger.DefaultTimeWindow), formatTime(u.ClientTime)),
	}
	if pub != nil {
		u.PublicKey = pub.Bytes()
		d, err := sm2Digest(pub, bodyBytes)
		if err != nil {
			return nil, err
		}
		u.Sign.Digest = d
		pubArg = "--pub PUB.pem"
	}
	u.Sign.Attach = "evidenced tx attach --body " + shellQuote(bin) + " --signature " + shellQuote(sig) + " " + pubArg +
		" --out " + shellQuote(filepath.Join(dir, "tx.bin")) + " --submit"
	return u, nil
}

// sm2Digest returns e = SM3(Z_A ‖ msg) for pub with the default user id: the
// value an SM2 signer that takes a precomputed digest signs.
func sm2Digest(pub *crypto.PublicKey, msg []byte) (crypto.Hash, error) {
	k, err := sm2.NewPublicKey(pub.Bytes())
	if err != nil {
		return crypto.Hash{}, fmt.Errorf("SM2 public key: %w", err)
	}
	e, err := sm2.CalculateSM2Hash(k, msg, []byte(sm2UserID))
	if err != nil {
		return crypto.Hash{}, fmt.Errorf("SM2 digest: %w", err)
	}
	var h crypto.Hash
	copy(h[:], e)
	return h, nil
}

// parseUnsignedTx decodes body.json. It rejects unknown fields, another
// version, trailing data and records without their sidecar.
func parseUnsignedTx(data []byte) (*unsignedTx, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var u unsignedTx
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("not a body.json written by `evidenced tx build`: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a body.json written by `evidenced tx build`: data after the JSON object")
	}
	if u.Version != unsignedVersion {
		return nil, fmt.Errorf("body.json version %d is not supported (this evidenced reads version %d)", u.Version, unsignedVersion)
	}
	if ns := u.ClientTime.UnixNano(); !time.Unix(0, ns).Equal(u.ClientTime) {
		return nil, fmt.Errorf("body.json client_time %s is outside the range of a body's time", u.ClientTime)
	}
	u.ClientTime = u.ClientTime.UTC()
	if len(u.Records) == 0 && len(u.Details) == 0 {
		return nil, fmt.Errorf("body.json lists no records and no details")
	}
	for i, r := range u.Records {
		if r.Sidecar == "" {
			return nil, fmt.Errorf("body.json record %d names no sidecar", i)
		}
	}
	if len(u.PublicKey) != 0 {
		if _, err := crypto.ParsePublicKey(u.PublicKey); err != nil {
			return nil, fmt.Errorf("body.json public_key: %w", err)
		}
	}
	return &u, nil
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// encodeUnsigned encodes a body to sign and describes it for its signer:
// the exact bytes, the unsigned transaction (body.json) and its JSON.
func encodeUnsigned(body *ledger.Body, pub *crypto.PublicKey, files []evidenceFile, dir string) (bodyBytes []byte, u *unsignedTx, uj []byte, err error) {
	if bodyBytes, err = ledger.EncodeBody(body); err != nil {
		return nil, nil, nil, fmt.Errorf("build body: %v", rejectText(err))
	}
	if u, err = newUnsignedTx(body, bodyBytes, pub, files, dir); err != nil {
		return nil, nil, nil, err
	}
	if uj, err = jsonIndent(u); err != nil {
		return nil, nil, nil, err
	}
	return bodyBytes, u, uj, nil
}
