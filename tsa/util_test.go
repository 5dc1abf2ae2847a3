package tsa

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func readAll(r *http.Response) ([]byte, error) { return io.ReadAll(r.Body) }

func readAllBody(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

func errorsIsRejected(err error) bool { return errors.Is(err, ErrRejected) }
