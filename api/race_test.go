//go:build race

package api_test

// allocFactor scales the allocation bounds of bounds_test.go: under the
// race detector sync.Pool drops some of what it is given, so buffers are
// reused less, and a request allocates up to twice as much.
const allocFactor = 2
