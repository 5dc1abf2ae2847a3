package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// envHome names the environment variable that gives the default --home.
const envHome = "EVIDENCED_HOME"

// defaultHomeDir is the home used, under the user's home directory, when
// neither --home nor EVIDENCED_HOME is set.
const defaultHomeDir = ".evidenced"

// homeUsage ends the help text of every --home flag.
const homeUsage = " (default: $" + envHome + ", else ~/" + defaultHomeDir + ")"

// defaultHome returns $EVIDENCED_HOME, else ~/.evidenced.
func defaultHome() (string, error) {
	if h := os.Getenv(envHome); h != "" {
		return h, nil
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --home given, %s is not set and the user's home directory is unknown (%w): pass --home DIR or set %s", envHome, err, envHome)
	}
	return filepath.Join(dir, defaultHomeDir), nil
}

// newHome returns home when given, else the default home: the directory
// init and join create.
func newHome(home string) (string, error) {
	if home != "" {
		return home, nil
	}
	return defaultHome()
}

// nodeHome returns home when given, else the default home, which must
// exist: a command reading a home it was not told about says where it
// looked and how to name another.
func nodeHome(home string) (string, error) {
	if home != "" {
		return home, nil
	}
	h, err := defaultHome()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(h); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no node home at %s (the default: $%s, else ~/%s): pass --home DIR, set %s, or make one with 'evidenced init'", h, envHome, defaultHomeDir, envHome)
	}
	return h, nil
}
