package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
)

// envPassphrase names the environment variable that may hold a key
// passphrase (for scripts; prefer --passphrase-file).
const envPassphrase = "EVIDENCED_PASSPHRASE"

// stdinTerminal returns the file descriptor of cmd's stdin when it is a
// terminal.
func stdinTerminal(cmd *cobra.Command) (int, bool) {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// promptPassphrase asks for a passphrase on the terminal without echo.
func promptPassphrase(cmd *cobra.Command, fd int, prompt string) ([]byte, error) {
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return p, nil
}

// givenPassphrase returns the passphrase from --passphrase-file or, failing
// that and if useEnv, from EVIDENCED_PASSPHRASE; nil if neither is set.
func givenPassphrase(file string, useEnv bool) ([]byte, error) {
	if file != "" {
		return keyfile.ReadPassphrase(file)
	}
	if v, ok := os.LookupEnv(envPassphrase); useEnv && ok && v != "" {
		return []byte(v), nil
	}
	return nil, nil
}

// loadKey loads the private key file at path. The passphrase comes from
// passFile, else (if useEnv) EVIDENCED_PASSPHRASE, else (for an encrypted
// key on a terminal) a prompt; otherwise the error says how to give one.
func loadKey(cmd *cobra.Command, path, passFile string, useEnv bool) (*crypto.PrivateKey, error) {
	pass, err := givenPassphrase(passFile, useEnv)
	if err != nil {
		return nil, err
	}
	k, err := keyfile.Load(path, pass)
	if errors.Is(err, crypto.ErrPassphraseRequired) {
		fd, isTerm := stdinTerminal(cmd)
		if !isTerm {
			how := "--passphrase-file FILE or the " + envPassphrase + " environment variable"
			if !useEnv {
				how = "--in-passphrase-file FILE"
			}
			return nil, fmt.Errorf("key %s is encrypted: pass its passphrase with %s", path, how)
		}
		if pass, err = promptPassphrase(cmd, fd, "Passphrase for "+path+": "); err != nil {
			return nil, err
		}
		k, err = keyfile.Load(path, pass)
	}
	switch {
	case errors.Is(err, crypto.ErrWrongPassphrase):
		return nil, fmt.Errorf("key %s: wrong passphrase", path)
	case errors.Is(err, keyfile.ErrInsecurePermissions):
		return nil, fmt.Errorf("key %s can be read by other users: run chmod 600 %s", path, path)
	case err != nil:
		return nil, fmt.Errorf("load key: %w", err)
	}
	return k, nil
}

// newKeyPassphrase decides the passphrase for a key about to be written:
// from passFile or EVIDENCED_PASSPHRASE, none with noPass, else asked twice
// on a terminal. Without a terminal and without either flag it fails: a
// plaintext key file needs an explicit --no-passphrase.
func newKeyPassphrase(cmd *cobra.Command, passFile string, noPass bool) ([]byte, error) {
	if noPass {
		if passFile != "" {
			return nil, errors.New("--passphrase-file and --no-passphrase contradict each other: choose one")
		}
		return nil, nil
	}
	pass, err := givenPassphrase(passFile, true)
	if err != nil || pass != nil {
		return pass, err
	}
	fd, isTerm := stdinTerminal(cmd)
	if !isTerm {
		return nil, fmt.Errorf("no passphrase for the new key: pass --passphrase-file FILE, set %s, or pass --no-passphrase to write it unencrypted", envPassphrase)
	}
	p1, err := promptPassphrase(cmd, fd, "New passphrase: ")
	if err != nil {
		return nil, err
	}
	if len(p1) == 0 {
		return nil, errors.New("empty passphrase: to write an unencrypted key, pass --no-passphrase")
	}
	p2, err := promptPassphrase(cmd, fd, "Repeat the passphrase: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p1, p2) {
		return nil, errors.New("the two passphrases differ: nothing was written")
	}
	return p1, nil
}
