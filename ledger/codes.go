package ledger

import "fmt"

// Code is the stable numeric result of a transaction. Zero means accepted;
// every other value names one reason for rejection. Codes are never reused
// or renumbered: clients, the CometBFT result log and docs/CODES.md depend
// on them. Add new codes at the end of the table.
type Code uint32

// Result codes. The table in docs/CODES.md is checked against these by a
// test; keep both in step.
const (
	CodeOK                Code = 0  // accepted and appended to the log
	CodeMalformed         Code = 1  // the bytes do not decode as a canonical transaction
	CodeUnsupported       Code = 2  // unknown format version or transaction type
	CodeWrongChain        Code = 3  // the body names another chain id
	CodeTooLarge          Code = 4  // the transaction exceeds the chain's size limits
	CodeUnknownKey        Code = 5  // the signer key id is not registered to any member
	CodeBadSignature      Code = 6  // the SM2 signature does not verify under the signer's key
	CodeRoleNotAllowed    Code = 7  // the signer's role may not submit this transaction type
	CodeDuplicate         Code = 8  // a transaction with the same body (tx id) was already accepted
	CodeTimeWindow        Code = 9  // the client time lies outside the allowed window around block time
	CodeGenesisOnly       Code = 10 // the transaction type is only valid in the genesis roster
	CodeChainStep         Code = 11 // the evidence-chain step is not the next step (gap or repeat)
	CodeChainPrev         Code = 12 // the step does not name the previous step's entry (fork or wrong link)
	CodeChainOwner        Code = 13 // the evidence chain belongs to another member
	CodeUnknownTarget     Code = 14 // an attestation names a record that does not exist
	CodeBatchTooLarge     Code = 15 // a batch holds more records than the chain allows
	CodeBatchChainRepeat  Code = 16 // a batch holds two records of the same evidence chain
	CodeCheckpoint        Code = 17 // a checkpoint transaction is invalid (height, signatures or quorum)
	CodeProposerOnly      Code = 18 // the transaction type is put in blocks by proposers, not submitted
	CodeBlockFull         Code = 19 // the block already holds as much work as a block may (MaxBlockWrites)
	CodeBundleRejected    Code = 20 // some transactions in a bundle were rejected (each inner result says why)
	CodeNoOriginal        Code = 21 // the record has no encrypted original kept by the alliance
	CodeUnknownMember     Code = 22 // the grantee is not another member of the alliance
	CodeGrantScope        Code = 23 // a chain grant does not match the chain's records with originals
	CodeNoGrant           Code = 24 // no live grant covers this (revoked, expired, not the grantee's, or none)
	CodeNotVoting         Code = 25 // the voter's member has no voting power in the roster that decides the proposal
	CodeUnknownProposal   Code = 26 // the vote names an entry that holds no proposal
	CodeProposalClosed    Code = 27 // the proposal was already decided, or its deadline height has passed
	CodeAlreadyVoted      Code = 28 // the member already voted on this proposal
	CodeDuplicateMember   Code = 29 // a member of that name is already on the roster
	CodeDuplicateKey      Code = 30 // a key, validator key or node id in the change is already registered, now or before
	CodeNoQuorum          Code = 31 // the change would leave the alliance without voting power
	CodeNotMember         Code = 32 // the change names a member, or a key of a member, that the roster does not have
	CodeLedgerOnly        Code = 33 // the transaction type is written by the ledger itself, never submitted
	CodeBadDeadline       Code = 34 // the proposal's deadline is not a height ahead within the allowed window
	CodeDuplicateTSA      Code = 35 // a TSA of that name or certificate is already on the roster
	CodeNotTSA            Code = 36 // the change names a TSA that the roster does not have
	CodeBadToken          Code = 37 // the time-stamp token is malformed, its signature fails, its chain is untrusted, or it has no nonce
	CodeTokenImprint      Code = 38 // the token's imprint is not the checkpoint's hash with an algorithm the TSA may use
	CodeTokenExpired      Code = 39 // the TSA's certificate was not valid at the token's genTime
	CodeTokenReplayed     Code = 40 // a token of the same TSA and serial number was already accepted
	CodeTokenTime         Code = 41 // the token's genTime is earlier than the checkpoint's block time, beyond the allowed skew
	CodeAlreadyStamped    Code = 42 // the checkpoint already has a token (the first one is kept)
	CodeUnknownCheckpoint Code = 43 // there is no trusted checkpoint of that height
	CodeBadUTF8           Code = 44 // free text (a purpose, reason, note or label value) is not valid UTF-8
	CodeTextNotNFC        Code = 45 // free text is not in Unicode Normalization Form C
	CodeControlChar       Code = 46 // free text holds a control character, a line separator or a bidirectional control
	CodeUnknownRequest    Code = 47 // the refusal or grant names an entry that holds no retrieval request
	CodeNotRequestOwner   Code = 48 // the request is for another member's record or chain: only its owner refuses it
	CodeRequestAnswered   Code = 49 // the request was already answered (granted or refused)
	CodeRequestMismatch   Code = 50 // the grant does not answer the request it names (another grantee, records or owner)
	CodeOwnRequest        Code = 51 // the request names the requester's own record or chain
)

// codeInfo is one row of the code table.
type codeInfo struct {
	name string
	doc  string
	hint string
}

var codeTable = [...]codeInfo{
	CodeOK:                {"ok", "accepted and appended to the log", ""},
	CodeMalformed:         {"malformed", "the bytes do not decode as a canonical transaction", "build the transaction with the evidenced client or CLI; do not re-encode it"},
	CodeUnsupported:       {"unsupported", "unknown format version or transaction type", "upgrade the client to the version the alliance runs"},
	CodeWrongChain:        {"wrong_chain", "the body names another chain id", "sign for this alliance's chain id (see `evidenced status`)"},
	CodeTooLarge:          {"too_large", "the transaction exceeds the chain's size limits", "split the submission into smaller transactions"},
	CodeUnknownKey:        {"unknown_key", "the signer key id is not registered to any member", "sign with a key listed in the roster (`evidenced members`)"},
	CodeBadSignature:      {"bad_signature", "the SM2 signature does not verify under the signer's key", "sign the exact body bytes with the registered key, SM3 digest and the default user id"},
	CodeRoleNotAllowed:    {"role_not_allowed", "the signer's role may not submit this transaction type", "only banks submit evidence, grant and refuse; only notary, arbitration and court members attest; only courts and arbitration centres request originals"},
	CodeDuplicate:         {"duplicate", "a transaction with the same body (tx id) was already accepted", "nothing to do: the first copy is on the ledger; look it up by tx id"},
	CodeTimeWindow:        {"time_window", "the client time lies outside the allowed window around block time", "check the client clock and submit a freshly built transaction"},
	CodeGenesisOnly:       {"genesis_only", "the transaction type is only valid in the genesis roster", "members are registered in genesis"},
	CodeChainStep:         {"chain_step", "the evidence-chain step is not the next step (gap or repeat)", "submit steps in order, each after the previous one is committed"},
	CodeChainPrev:         {"chain_prev", "the step does not name the previous step's entry (fork or wrong link)", "set prev to the leaf hash of the entry holding the previous step"},
	CodeChainOwner:        {"chain_owner", "the evidence chain belongs to another member", "use a new evidence-chain id, or submit as the member that started the chain"},
	CodeUnknownTarget:     {"unknown_target", "an attestation names a record that does not exist", "attest only committed records (entry index and record position)"},
	CodeBatchTooLarge:     {"batch_too_large", "a batch holds more records than the chain allows", "split the batch (see the max_batch_records parameter)"},
	CodeBatchChainRepeat:  {"batch_chain_repeat", "a batch holds two records of the same evidence chain", "put consecutive steps of one chain in separate transactions"},
	CodeCheckpoint:        {"checkpoint", "a checkpoint transaction is invalid (height, signatures or quorum)", "only block proposers build checkpoint transactions, from vote extensions"},
	CodeBlockFull:         {"block_full", "the block already holds as much work as a block may (MaxBlockWrites)", "nothing to do: the transaction stays in the mempool and goes into a later block"},
	CodeBundleRejected:    {"bundle_rejected", "some transactions in a bundle were rejected (each inner result says why)", "resubmit only the rejected transactions, after fixing what their own codes say"},
	CodeNoOriginal:        {"no_original", "the record has no encrypted original kept by the alliance", "grant and retrieve only records submitted with their original (evidenced submit --upload)"},
	CodeUnknownMember:     {"unknown_member", "the grantee is not another member of the alliance", "name a member listed by `evidenced members`, other than yourself"},
	CodeGrantScope:        {"grant_scope", "a chain grant does not match the chain's records with originals", "carry one wrapped key for every record of the chain that has an original, and only those"},
	CodeNoGrant:           {"no_grant", "no live grant covers this (revoked, expired, not the grantee's, or none)", "ask the record's owner for a grant, and name it"},
	CodeNotVoting:         {"not_voting", "the voter's member has no voting power in the roster that decides the proposal", "only members with voting power vote; others may propose"},
	CodeUnknownProposal:   {"unknown_proposal", "the vote names an entry that holds no proposal", "vote on a proposal's entry index, as `evidenced proposals` lists them"},
	CodeProposalClosed:    {"proposal_closed", "the proposal was already decided, or its deadline height has passed", "propose the change again, with a later deadline"},
	CodeAlreadyVoted:      {"already_voted", "the member already voted on this proposal", "nothing to do: a member votes once on a proposal"},
	CodeDuplicateMember:   {"duplicate_member", "a member of that name is already on the roster", "choose another name for the new member"},
	CodeDuplicateKey:      {"duplicate_key", "a key, validator key or node id in the change is already registered, now or before", "make new keys for the member (evidenced keys generate); a key is never registered twice"},
	CodeNoQuorum:          {"no_quorum", "the change would leave the alliance without voting power", "keep at least one member with voting power: add or empower one first"},
	CodeNotMember:         {"not_member", "the change names a member, or a key of a member, that the roster does not have", "name a current member (`evidenced members`) and one of its keys"},
	CodeLedgerOnly:        {"ledger_only", "the transaction type is written by the ledger itself, never submitted", "do not submit roster entries: a proposal that passes makes one"},
	CodeBadDeadline:       {"bad_deadline", "the proposal's deadline is not a height ahead within the allowed window", "give a deadline height after the current one and within a million blocks of it"},
	CodeDuplicateTSA:      {"duplicate_tsa", "a TSA of that name or certificate is already on the roster", "choose another name, or remove the TSA that has the certificate first"},
	CodeNotTSA:            {"not_tsa", "the change or timestamp names a TSA that the roster in force does not have", "name a TSA the roster lists (`evidenced roster export`)"},
	CodeBadToken:          {"bad_token", "the time-stamp token is malformed, its signature fails, its chain is untrusted, or it has no nonce", "submit the token exactly as the TSA returned it, requested with a nonce from a TSA the roster trusts"},
	CodeTokenImprint:      {"token_imprint", "the token's imprint is not the checkpoint's hash with an algorithm the TSA may use", "request the token over the exact checkpoint text (GET /v1/checkpoints/{height}), hashed with an algorithm the roster lists for the TSA"},
	CodeTokenExpired:      {"token_expired", "the TSA's certificate was not valid at the token's genTime", "renew the TSA's certificate, and update the roster (remove-tsa, add-tsa) if its anchor changed"},
	CodeTokenReplayed:     {"token_replayed", "a token of the same TSA and serial number was already accepted", "request a new token for this checkpoint; a token is accepted once"},
	CodeTokenTime:         {"token_time", "the token's genTime is earlier than the checkpoint's block time, beyond the allowed skew", "check the TSA's clock and the validators'; request a new token over the checkpoint"},
	CodeAlreadyStamped:    {"already_stamped", "the checkpoint already has a token (the first one is kept)", "nothing to do: stamp a later checkpoint"},
	CodeUnknownCheckpoint: {"unknown_checkpoint", "there is no trusted checkpoint of that height", "stamp a checkpoint that GET /v1/checkpoints lists as trusted"},
	CodeBadUTF8:           {"bad_utf8", "free text (a purpose, reason, note or label value) is not valid UTF-8", "send text encoded in UTF-8"},
	CodeTextNotNFC:        {"text_not_nfc", "free text is not in Unicode Normalization Form C", "normalise text to NFC before signing (the evidenced CLI and API do)"},
	CodeControlChar:       {"control_char", "free text holds a control character, a line separator or a bidirectional control", "write the text on one line, without control, separator or bidirectional characters"},
	CodeUnknownRequest:    {"unknown_request", "the refusal or grant names an entry that holds no retrieval request", "name a request's entry index, as `evidenced requests` lists them"},
	CodeNotRequestOwner:   {"not_request_owner", "the request is for another member's record or chain: only its owner refuses it", "answer only requests for your own records (`evidenced requests --for` your member)"},
	CodeRequestAnswered:   {"request_answered", "the request was already answered (granted or refused)", "nothing to do: a request is answered once; the requester files a new one if needed"},
	CodeRequestMismatch:   {"request_mismatch", "the grant does not answer the request it names (another grantee, records or owner)", "grant the requester exactly what it asked for, as the owner (`evidenced grant --request N` fills it in)"},
	CodeOwnRequest:        {"own_request", "the request names the requester's own record or chain", "request another member's records; your own originals need no request"},
	CodeProposerOnly:      {"proposer_only", "the transaction type is put in blocks by proposers, not submitted", "do not submit checkpoint transactions; validators co-sign checkpoints automatically"},
}

// Codes returns every defined code in numeric order.
func Codes() []Code {
	cs := make([]Code, len(codeTable))
	for i := range codeTable {
		cs[i] = Code(i)
	}
	return cs
}

// String returns the code's stable snake_case name.
func (c Code) String() string {
	if int(c) < len(codeTable) {
		return codeTable[c].name
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// Doc returns a one-line description of what the code means.
func (c Code) Doc() string {
	if int(c) < len(codeTable) {
		return codeTable[c].doc
	}
	return "unknown code"
}

// Hint returns what a submitter should do about a rejection with this code.
func (c Code) Hint() string {
	if int(c) < len(codeTable) {
		return codeTable[c].hint
	}
	return ""
}

// RejectError is a transaction rejection: a stable code and a message
// naming the offending field or value.
type RejectError struct {
	Code Code
	Msg  string
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("%s (code %d): %s", e.Code, uint32(e.Code), e.Msg)
}

func reject(c Code, format string, args ...any) *RejectError {
	return &RejectError{Code: c, Msg: fmt.Sprintf(format, args...)}
}
