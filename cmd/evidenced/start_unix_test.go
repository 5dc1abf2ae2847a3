//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/config"
)

// runAsMain makes the test binary run main() instead of the tests, so a
// test can run the command as a process of its own and signal it.
const runAsMain = "EVIDENCED_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStartAnswersSignalWhileLoading (F8): `evidenced start` blocked
// reading its home (here evidenced.toml is a FIFO no one writes) still ends
// promptly on SIGTERM, saying what it was doing.
func TestStartAnswersSignalWhileLoading(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := config.File(home)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "start", "--home", home)
	cmd.Env = append(os.Environ(), runAsMain+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// The process has the FIFO open for reading once it can be opened for
	// writing without blocking; keeping the writer open (and silent) leaves
	// the reader blocked in read.
	var w *os.File
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("start exited before reading its config: %v\n%s", waitErr, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("start never opened %s: %v", fifo, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	defer w.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "stopped while reading "+fifo) {
			t.Fatalf("after SIGTERM: %v, stderr:\n%s\nwant exit code 1 and the error \"stopped while reading %s\"", waitErr, stderr.String(), fifo)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("evidenced start ignored SIGTERM while loading its home")
	}
}
