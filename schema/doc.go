// Package schema owns the shape of an archy app: the CUE schema (embedded
// in the binary) and the Go types that evaluated apps decode into, with the
// source positions of their fields. Loading, evaluation and checks live in
// catalog.
package schema
