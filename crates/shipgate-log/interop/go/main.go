// By-hand interop check (see run.sh): Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog verify a checkpoint and proofs made by shipgate-log, and sign a
// checkpoint that shipgate-log then verifies.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type input struct {
	Vkey        string   `json:"vkey"`
	Note        string   `json:"note"`
	Leaves      []string `json:"leaves"`
	Roots       []string `json:"roots"`
	Inclusion   [][]any  `json:"inclusion"`
	Consistency [][]any  `json:"consistency"`
}

func hashes(s string) []tlog.Hash {
	raw, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	var out []tlog.Hash
	for i := 0; i+32 <= len(raw); i += 32 {
		var h tlog.Hash
		copy(h[:], raw[i:i+32])
		out = append(out, h)
	}
	return out
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sign" {
		sign()
		return
	}
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	v, err := note.NewVerifier(in.Vkey)
	if err != nil {
		panic(err)
	}
	n, err := note.Open([]byte(in.Note), note.VerifierList(v))
	if err != nil {
		fmt.Println("go: note REFUSED:", err)
		os.Exit(1)
	}
	fmt.Printf("go: note.Open verified the checkpoint (key %s+%08x)\n", n.Sigs[0].Name, n.Sigs[0].Hash)

	leaves := make([]tlog.Hash, len(in.Leaves))
	for i, l := range in.Leaves {
		d, _ := hex.DecodeString(l)
		leaves[i] = tlog.RecordHash(d)
	}
	roots := make([]tlog.Hash, len(in.Roots))
	for i, r := range in.Roots {
		roots[i] = hashes(r)[0]
	}
	// The checkpoint text, as tlog-checkpoint specifies it, for the last size.
	last := len(roots) - 1
	want := fmt.Sprintf("gate.example.com/log\n%d\n%s\n", last, base64.StdEncoding.EncodeToString(roots[last][:]))
	if n.Text != want {
		fmt.Printf("go: checkpoint text %q, want %q\n", n.Text, want)
		os.Exit(1)
	}
	fmt.Println("go: checkpoint text matches the tree head computed by tlog hashing")
	bad := 0
	for _, c := range in.Inclusion {
		idx, size := int64(c[0].(float64)), int64(c[1].(float64))
		if err := tlog.CheckRecord(hashes(c[2].(string)), size, roots[size], idx, leaves[idx]); err != nil {
			bad++
		}
	}
	for _, c := range in.Consistency {
		a, b := int64(c[0].(float64)), int64(c[1].(float64))
		if err := tlog.CheckTree(hashes(c[2].(string)), b, roots[b], a, roots[a]); err != nil {
			bad++
		}
	}
	fmt.Printf("go: tlog.CheckRecord/CheckTree: %d inclusion + %d consistency proofs, %d failed\n", len(in.Inclusion), len(in.Consistency), bad)
	if bad > 0 {
		os.Exit(1)
	}
}

// sign prints a Go-signed checkpoint and its verifier key, for Rust to verify.
func sign() {
	skey, vkey, err := note.GenerateKey(rand.Reader, "go.example/log")
	if err != nil {
		panic(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	text := tlog.FormatTree(tlog.Tree{N: 64, Hash: tlog.RecordHash([]byte("go"))})
	// tlog.FormatTree writes the sumdb origin line "go.sum database tree".
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		panic(err)
	}
	fmt.Println(vkey)
	os.Stdout.Write(msg)
}
