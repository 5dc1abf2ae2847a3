//go:build !race

package api_test

// allocFactor scales the allocation bounds of bounds_test.go (see
// race_test.go).
const allocFactor = 1
